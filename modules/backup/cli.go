package backup

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"mipo/app"
)

func init() {
	app.RegisterCommand(backupCommand)
	app.RegisterCommand(restoreCommand)
}

// cliRunner opens the databases and builds a runner for a one-off command; dir, when given,
// is the folder of the backups.
func cliRunner(cmd *cobra.Command, dir string) (*Runner, *app.Config, func(), error) {
	cfg, err := app.LoadCLIConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	dbs, closeDB, err := app.OpenDatabasesForCLI(cmd.Context(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	secrets, err := app.NewSecretBox(cfg.SecretKey)
	if err != nil {
		closeDB()
		return nil, nil, nil, err
	}
	r, err := NewRunner(cfg, dbs, nil, secrets)
	if err != nil {
		closeDB()
		return nil, nil, nil, err
	}
	if dir != "" {
		r.Dir = dir
	}
	return r, cfg, closeDB, nil
}

func backupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Make, list and verify encrypted backups, and print the backup key",
		Long: "Backups are encrypted with MIPO_BACKUP_KEY from .mipo.env. A backup without its key cannot be\n" +
			"restored: keep a copy of the key (mipo backup export-key) apart from the backups.",
	}
	var full bool
	create := &cobra.Command{
		Use:   "create config|results",
		Short: "Make a backup now: config (the config and jobs databases) or results (incremental unless --full)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, _, closeDB, err := cliRunner(cmd, "")
			if err != nil {
				return err
			}
			defer closeDB()
			m, err := r.Backup(cmd.Context(), args[0], full)
			if err != nil {
				return err
			}
			kind := "full"
			if m.Incremental {
				kind = "incremental on " + m.Parent
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup %s (%s): %d rows, %s, in %s\n", m.ID, kind, m.Rows(), humanBytes(m.Size()), filepath.Join(r.Dir, m.ID))
			return nil
		},
	}
	create.Flags().BoolVar(&full, "full", false, "results: a full backup even when an incremental would do")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the local backups",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			keys, err := NewKeys(cfg.BackupKey)
			if err != nil {
				return err
			}
			s := &Service{Keys: keys, Dir: Dir(cfg)}
			ms, err := s.List()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKIND\tTYPE\tCREATED\tROWS\tSIZE\tKEY")
			for _, m := range ms {
				typ, key := "full", "this key"
				if m.Incremental {
					typ = "incremental"
				}
				if m.KeyID != keys.ID {
					key = "other key " + m.KeyID
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, typ, m.CreatedAt.Format(time.RFC3339), m.Rows(), humanBytes(m.Size()), key)
			}
			return w.Flush()
		},
	}
	var keyFile, from string
	verify := &cobra.Command{
		Use:   "verify ID",
		Short: "Decrypt and check a backup (and the chain it needs) without restoring it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := app.LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			key, err := keyFromFile(keyFile, cfg.BackupKey)
			if err != nil {
				return err
			}
			keys, err := NewKeys(key)
			if err != nil {
				return err
			}
			s := &Service{Keys: keys, Dir: orDefault(from, Dir(cfg))}
			chain, err := s.Verify(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			for _, m := range chain {
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s  %d parts, %d rows, %s\n", m.ID, len(m.Parts()), m.Rows(), humanBytes(m.Size()))
			}
			return nil
		},
	}
	verify.Flags().StringVar(&keyFile, "key-file", "", "file holding the backup key (default: MIPO_BACKUP_KEY of .mipo.env)")
	verify.Flags().StringVar(&from, "from", "", "folder of the backups (default: MIPO_BACKUP_DIR)")
	exportKey := &cobra.Command{
		Use:   "export-key",
		Short: "Print the backup key, to keep apart from the backups",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: this key decrypts every backup of this installation. Store it apart from the\n"+
				"backups (a password manager, a sealed envelope, another site): a backup without its key\n"+
				"cannot be restored, and anyone holding both can read everything in it.")
			fmt.Fprintf(cmd.OutOrStdout(), "MIPO_BACKUP_KEY=%s\n", base64.RawURLEncoding.EncodeToString(cfg.BackupKey))
			return nil
		},
	}
	cmd.AddCommand(create, list, verify, exportKey)
	return cmd
}

func keyFromFile(path string, fallback []byte) ([]byte, error) {
	if path == "" {
		return fallback, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	// The file may be what export-key printed, warning and all: take its key line.
	v := strings.TrimSpace(string(b))
	for _, line := range strings.Split(v, "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k == "MIPO_BACKUP_KEY" {
			v = val
		}
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil || len(key) < 32 {
		return nil, errors.New("--key-file must hold the key that mipo backup export-key printed")
	}
	return key, nil
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func restoreCommand() *cobra.Command {
	var keyFile, from string
	var yes bool
	cmd := &cobra.Command{
		Use:   "restore [ID...]",
		Short: "Restore backups: by default the newest config backup and the newest results backup",
		Long: "Checks every manifest and checksum first, loads fresh copies of the databases, checks the row\n" +
			"counts and the audit chain, and only then switches; a failure leaves the databases as they were.\n" +
			"On a new machine: copy the backups folder, then\n" +
			"  mipo restore --from ./backups --key-file backup.key\n" +
			"The installation's other keys (MIPO_SECRET_KEY, …) come back from the config backup into .mipo.env.",
		RunE: func(cmd *cobra.Command, ids []string) error {
			key, err := func() ([]byte, error) {
				cfg, err := app.LoadCLIConfig(cmd)
				if err != nil {
					return nil, err
				}
				return keyFromFile(keyFile, cfg.BackupKey)
			}()
			if err != nil {
				return err
			}
			r, cfg, closeDB, err := cliRunner(cmd, from)
			if err != nil {
				return err
			}
			defer closeDB()
			if r.Keys, err = NewKeys(key); err != nil {
				return err
			}
			r.AdoptKeys = true // this command writes the backup's keys into .mipo.env
			if len(ids) == 0 {
				if ids, err = newest(r.Service); err != nil {
					return err
				}
			}
			if !yes && term.IsTerminal(int(os.Stdin.Fd())) {
				fmt.Fprintf(cmd.ErrOrStderr(), "This replaces the databases of %s with %s. Type yes to go on: ", cfg.DataDir, strings.Join(ids, " and "))
				var answer string
				fmt.Fscanln(cmd.InOrStdin(), &answer)
				if answer != "yes" {
					return errors.New("restore cancelled")
				}
			}
			progress := textProgress(cmd.ErrOrStderr())
			if f, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				progress = barProgress(f)
			}
			if err := r.Restore(cmd.Context(), ids, progress); err != nil {
				return err
			}
			if err := restoreKeys(cmd.Context(), r.Service, cfg, ids, key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s\n", strings.Join(ids, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "file holding the backup key (default: MIPO_BACKUP_KEY of .mipo.env)")
	cmd.Flags().StringVar(&from, "from", "", "folder of the backups (default: MIPO_BACKUP_DIR)")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}

// newest picks the newest config backup and the newest results backup of the current key.
func newest(s *Service) ([]string, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	pick := map[string]string{}
	for _, m := range all {
		if m.KeyID == s.Keys.ID {
			pick[m.Kind] = m.ID
		}
	}
	var ids []string
	for _, k := range []string{KindConfig, KindResults} {
		if id, ok := pick[k]; ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no backup made with this key in %s", s.Dir)
	}
	return ids, nil
}

// restoreKeys writes the keys a restored config backup carries, and the backup key used, into
// .mipo.env, keeping the file it replaces beside it.
func restoreKeys(ctx context.Context, s *Service, cfg *app.Config, ids []string, backupKey []byte) error {
	for _, id := range ids {
		m, err := s.Get(id)
		if err != nil || m.Kind != KindConfig {
			continue
		}
		keys, err := s.ReadSecrets(ctx, m)
		if err != nil {
			return err
		}
		keys["MIPO_BACKUP_KEY"] = base64.RawURLEncoding.EncodeToString(backupKey)
		return app.UpdateEnvFile(cfg.DataDir, keys)
	}
	return nil
}

func textProgress(w io.Writer) Progress {
	last := ""
	return func(step string, done, total int64) {
		if step != last {
			fmt.Fprintln(w, step)
			last = step
		}
	}
}

func barProgress(w io.Writer) Progress {
	var bar *progressbar.ProgressBar
	return func(step string, done, total int64) {
		if total > 0 && bar == nil {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
		}
		if bar == nil {
			fmt.Fprintln(w, step)
			return
		}
		bar.Describe(step)
		bar.Set64(done)
		if step == "done" {
			bar.Finish()
			fmt.Fprintln(w)
		}
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
