package audit

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"mipo/app"
)

// verifyCommand is `mipo audit verify`: the chain check for auditors with shell access.
func verifyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the append-only audit log"}
	var asJSON bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit log's keyed chain, hold it against the checkpoints, and name the first bad record or the missing tail",
		Long:  "Exits with status 0 when every record matches its hash and links to the one before it, and 1 otherwise.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			dbs, closeDB, err := app.OpenDatabasesForCLI(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeDB()
			v, err := Verify(cmd.Context(), Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: cfg.AuditKey})
			if err != nil {
				return err
			}
			if asJSON {
				json.NewEncoder(cmd.OutOrStdout()).Encode(v)
			} else if v.OK {
				fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d records, every keyed hash and checkpoint matches\n", v.Checked)
			}
			if !v.OK && v.FirstBadID != nil {
				return fmt.Errorf("audit log broken at record %d: %s", *v.FirstBadID, v.Reason)
			}
			if !v.OK {
				return fmt.Errorf("audit log broken: %s", v.Reason)
			}
			return nil
		},
	}
	verify.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(verify)
	return cmd
}
