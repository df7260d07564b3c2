package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

var extraCommands []func() *cobra.Command

// RegisterCommand adds a subcommand to the mipo CLI (a module's `mipo setup`, say). Call it
// from init().
func RegisterCommand(build func() *cobra.Command) { extraCommands = append(extraCommands, build) }

// Main runs the mipo command line and exits.
func Main() {
	if err := NewCLI().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "mipo:", err)
		os.Exit(1)
	}
}

// flagSettings maps command-line flags to the MIPO_* variables they override.
var flagSettings = map[string]string{
	"data-dir": "MIPO_DATA_DIR", "listen": "MIPO_LISTEN", "tls": "MIPO_TLS", "role": "MIPO_ROLE",
	"config-dsn": "MIPO_CONFIG_DSN", "results-dsn": "MIPO_RESULTS_DSN", "jobs-dsn": "MIPO_JOBS_DSN",
}

// NewCLI builds the root command with the kernel's commands and the modules' ones.
func NewCLI() *cobra.Command {
	root := &cobra.Command{
		Use:   "mipo",
		Short: "mipo knows what is listening on your networks, and proves it",
		Long: "mipo schedules TCP port scans from scanner agents inside your networks, keeps every result,\n" +
			"diffs them over time, and records every change to itself in an append-only audit log.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("data-dir", "", "data directory (MIPO_DATA_DIR; default ./mipo-data)")
	root.PersistentFlags().String("config-dsn", "", "config database URL (MIPO_CONFIG_DSN); none of the three: embedded PostgreSQL")
	root.PersistentFlags().String("results-dsn", "", "results database URL (MIPO_RESULTS_DSN)")
	root.PersistentFlags().String("jobs-dsn", "", "jobs database URL (MIPO_JOBS_DSN)")
	root.AddCommand(serveCommand(), migrateCommand(), versionCommand(), initCommand(), openapiCommand())
	for _, build := range extraCommands {
		root.AddCommand(build())
	}
	return root
}

// LoadCLIConfig reads the configuration from the command's flags and the environment.
func LoadCLIConfig(cmd *cobra.Command) (*Config, error) {
	flags := map[string]string{}
	for flag, env := range flagSettings {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			flags[env] = f.Value.String()
		}
	}
	cfg, err := LoadConfig(flags, os.Environ())
	if err == nil {
		// A command is one installation's process, like a server: what it audits is keyed.
		processAuditKey.Store(&cfg.AuditKey)
	}
	return cfg, err
}

func serveCommand() *cobra.Command {
	var listRoles bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run mipo: the roles given by --role (all by default) in one process",
		Long: "Run mipo. --role picks what this process does, as a comma list:\n" +
			"  manager     web UI and admin API (one instance)\n" +
			"  ingest      scanner API (run two or more)\n" +
			"  dispatcher  scan orchestration (a singleton; a second one waits as hot standby)\n" +
			"  backup      encrypted backups, their replication to S3, and restore\n" +
			"  all         every role (the default)\n\n" +
			"With no database URLs, mipo starts an embedded PostgreSQL cluster in <data dir>/postgres.\n" +
			"As root, PostgreSQL runs as the unprivileged postgres user; when that user cannot enter the\n" +
			"data directory (a checkout under /root, say), the cluster lives in " + PlacementRoot + "/postgres-<hash>\n" +
			"instead, and <data dir>/postgres links to it. mipo never loosens a directory it did not make.\n\n" +
			"Every setting is also an environment variable:\n" + settingsHelp(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listRoles {
				return printRoles(cmd)
			}
			cfg, err := LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			return Serve(cmd.Context(), cfg)
		},
	}
	cmd.Flags().String("role", "", "comma list of roles: manager, ingest, dispatcher, backup, all (MIPO_ROLE)")
	cmd.Flags().String("listen", "", "address to listen on (MIPO_LISTEN; default :8443)")
	cmd.Flags().String("tls", "", "on: HTTPS with the data directory's certificate; off: plain HTTP behind a proxy (MIPO_TLS)")
	cmd.Flags().BoolVar(&listRoles, "list-roles", false, "print the role graph (what each role runs, what each module requires) and exit")
	return cmd
}

func settingsHelp() string {
	var b strings.Builder
	for _, s := range Settings() {
		def := s.Default
		if def != "" {
			def = " (default " + def + ")"
		}
		fmt.Fprintf(&b, "  %s%s\n      %s\n", s.Name, def, s.Help)
	}
	return b.String()
}

// printRoles prints the role graph: what each role runs (its modules and what they require, in
// start order), then what each module requires.
func printRoles(cmd *cobra.Command) error {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ROLE\tRUNS, IN START ORDER")
	for _, role := range append(slices.Clone(Roles), RoleAll) {
		roles, err := ParseRoles(role)
		if err != nil {
			fmt.Fprintf(w, "%s\trefused: no module of this role is built yet\n", role)
			continue
		}
		mods, err := defaultRegistry.Resolve(roles)
		if err != nil {
			return err
		}
		names := make([]string, len(mods))
		for i, m := range mods {
			names[i] = m.Name
		}
		fmt.Fprintf(w, "%s\t%s\n", role, strings.Join(names, ", "))
	}
	fmt.Fprintln(w, "\nMODULE\tREQUIRES")
	for _, name := range defaultRegistry.Names() {
		req := strings.Join(defaultRegistry.Requires(name), ", ")
		if req == "" {
			req = "-"
		}
		fmt.Fprintf(w, "%s\t%s\n", name, req)
	}
	return w.Flush()
}

// Serve runs a process until SIGINT or SIGTERM, then stops it gracefully.
func Serve(parent context.Context, cfg *Config) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := New(cfg, Options{})
	if err != nil {
		return err
	}
	ln, cert, err := Listen(cfg)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
	}
	addr := displayAddress(ln.Addr().String())
	a.Log.Info("mipo is running", "url", scheme+"://"+addr+"/", "roles", strings.Join(cfg.Roles, ","), "modules", strings.Join(a.Modules(), ","), "version", Version)
	fmt.Fprintf(os.Stderr, "\n  mipo %s is running at %s://%s/  (roles: %s; data: %s)\n", Version, scheme, addr, strings.Join(cfg.Roles, ","), cfg.DataDir)
	if cert != nil && SelfSigned(*cert) {
		pin, _ := CertificatePin(*cert)
		fmt.Fprintf(os.Stderr, "  self-signed certificate, pin %s\n", pin)
	}
	fmt.Fprintf(os.Stderr, "  press Ctrl-C to stop\n\n")
	return a.Serve(ctx, ln)
}

// displayAddress turns a wildcard listen address into one a browser can open.
func displayAddress(addr string) string {
	for _, wild := range []string{"[::]:", "0.0.0.0:"} {
		if strings.HasPrefix(addr, wild) {
			return "localhost:" + strings.TrimPrefix(addr, wild)
		}
	}
	return addr
}

// OpenDatabasesForCLI opens the three databases for a one-off command, starting the embedded
// cluster when no DSN is configured (or using it if a running mipo already started it), and
// applies pending migrations. close releases everything.
func OpenDatabasesForCLI(ctx context.Context, cfg *Config) (dbs *Databases, close func(), err error) {
	var pg *EmbeddedPG
	if cfg.Embedded() {
		if pg, err = NewEmbeddedPG(filepath.Join(cfg.DataDir, "postgres"), settingPGBin.Get(cfg), NewLogger(cfg)); err != nil {
			return nil, nil, err
		}
		if err = pg.Start(ctx); err != nil {
			return nil, nil, err
		}
		cfg = cfg.WithDSNs(pg.AppDSN(DBConfig), pg.AppDSN(DBResults), pg.AppDSN(DBJobs))
	}
	stopPG := func() {
		if pg != nil {
			pg.Stop()
		}
	}
	if dbs, err = OpenDatabases(ctx, cfg.ConfigDSN, cfg.ResultsDSN, cfg.JobsDSN); err != nil {
		stopPG()
		return nil, nil, err
	}
	if _, err = MigrateAsOwner(ctx, cfg, pg, dbs, nil); err != nil {
		dbs.Close()
		stopPG()
		return nil, nil, err
	}
	return dbs, func() { dbs.Close(); stopPG() }, nil
}

func migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or show the database migrations of the config, results and jobs databases",
		Long:  "mipo serve applies migrations itself at start-up, under an advisory lock; this command does it ahead of time.",
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration to the three databases",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			_, closeDB, err := OpenDatabasesForCLI(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			closeDB()
			fmt.Fprintln(cmd.OutOrStdout(), "all three databases are up to date")
			return nil
		},
	}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "List every migration of the three databases and whether it is applied",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			dbs, closeDB, err := openWithoutMigrating(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeDB()
			st, err := MigrationStatus(cmd.Context(), dbs)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(st)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "DATABASE\tVERSION\tMIGRATION\tAPPLIED")
			for _, s := range st {
				applied := "pending"
				if s.Applied {
					applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", s.Database, s.Version, s.Name, applied)
			}
			return w.Flush()
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(up, status)
	return cmd
}

func openWithoutMigrating(ctx context.Context, cfg *Config) (*Databases, func(), error) {
	if !cfg.Embedded() {
		dbs, err := OpenDatabases(ctx, cfg.ConfigDSN, cfg.ResultsDSN, cfg.JobsDSN)
		if err != nil {
			return nil, nil, err
		}
		return dbs, dbs.Close, nil
	}
	pg, err := NewEmbeddedPG(filepath.Join(cfg.DataDir, "postgres"), settingPGBin.Get(cfg), NewLogger(cfg))
	if err != nil {
		return nil, nil, err
	}
	if err := pg.Start(ctx); err != nil {
		return nil, nil, err
	}
	dbs, err := OpenDatabases(ctx, pg.AppDSN(DBConfig), pg.AppDSN(DBResults), pg.AppDSN(DBJobs))
	if err != nil {
		pg.Stop()
		return nil, nil, err
	}
	return dbs, func() { dbs.Close(); pg.Stop() }, nil
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mipo's version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "mipo", Version) },
	}
}

func initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the data directory, its .mipo.env secrets and TLS certificate, and print where they are",
		Long: "mipo serve does this itself on first start. Run it ahead of `docker compose up`, so the\n" +
			"databases get their generated passwords from .mipo.env.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadCLIConfig(cmd)
			if err != nil {
				return err
			}
			cert, err := EnsureCertificate(cfg.DataDir)
			if err != nil {
				return err
			}
			pin, _ := CertificatePin(cert)
			fmt.Fprintf(cmd.OutOrStdout(), "secrets: %s\ncertificate: %s (pin %s)\n",
				filepath.Join(cfg.DataDir, EnvFileName), filepath.Join(cfg.DataDir, tlsCertFile), pin)
			return nil
		},
	}
}

func openapiCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3.1 document of every role's API (the web UI's client is generated from it)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A throwaway data directory: describing the API must not create one here.
			dir, err := os.MkdirTemp("", "mipo-openapi-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg, err := LoadConfig(map[string]string{"MIPO_DATA_DIR": dir, "MIPO_ROLE": RoleAll}, nil)
			if err != nil {
				return err
			}
			a, err := New(cfg, Options{Logger: NewLogger(cfg)})
			if err != nil {
				return err
			}
			doc, err := a.OpenAPIDocument()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(append(doc, '\n'))
			return err
		},
	}
}
