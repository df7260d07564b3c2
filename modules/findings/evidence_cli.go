package findings

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// evidenceCommand is `mipo evidence verify FILE`: it needs no database, no key file and no
// network, so an auditor can run it on a copy of the pack with mipo's binary alone.
func evidenceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Work with evidence packs (signed archives of a scope's exposure over a period)",
	}
	var key string
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an evidence pack offline: its signature and the SHA-256 of every file",
		Long: "Checks that manifest.json is signed by the Ed25519 key it names (and, with --public-key, that this is\n" +
			"the key shown on mipo's settings page), and that every file matches its SHA-256 in the manifest.\n" +
			"Each problem is reported with the name of its file; the exit status is non-zero if there is any.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var want ed25519.PublicKey
			if key != "" {
				raw, err := base64.StdEncoding.DecodeString(key)
				if err != nil || len(raw) != ed25519.PublicKeySize {
					return fmt.Errorf("--public-key must be the base64 Ed25519 public key shown on the settings page")
				}
				want = raw
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			v, err := VerifyPack(f, want)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, p := range v.Problems {
				fmt.Fprintln(out, "FAIL", p.String())
			}
			if !v.OK() {
				return fmt.Errorf("%s: %d problem(s); the pack cannot be trusted", args[0], len(v.Problems))
			}
			m := v.Manifest
			fmt.Fprintf(out, "OK %s: %d files verified, signed by key %s (sha256 %s)\n", args[0], len(m.Files), m.Key.ID, m.Key.Fingerprint)
			fmt.Fprintf(out, "scope %v %v, %s to %s, made %s by %s; audit chain head #%d %s\n", m.Scope["kind"], m.Scope["ref"],
				m.From.Format("2006-01-02T15:04:05Z07:00"), m.To.Format("2006-01-02T15:04:05Z07:00"), m.CreatedAt.Format("2006-01-02T15:04:05Z07:00"),
				m.CreatedBy, m.AuditHead.LastID, m.AuditHead.Hash)
			if key == "" {
				fmt.Fprintln(out, "Compare the key's fingerprint with the one on mipo's settings page (or pass --public-key).")
			}
			return nil
		},
	}
	verify.Flags().StringVar(&key, "public-key", "", "the evidence public key (base64) from mipo's settings page")
	cmd.AddCommand(verify)
	return cmd
}
