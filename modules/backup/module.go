package backup

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mipo/app"
)

var (
	settingDir     = app.StringSetting("MIPO_BACKUP_DIR", "", "Folder of the local backups. Default: backups in the data directory. Keep MIPO_BACKUP_KEY apart from it: a backup cannot be restored without its key.")
	settingListen  = app.StringSetting("MIPO_BACKUP_LISTEN", "127.0.0.1:8444", "Address of the backup role's internal API (loopback or the internal network only). A process that also runs manager serves the backup pages in-process and opens it only when this is set.")
	settingURL     = app.StringSetting("MIPO_BACKUP_URL", "http://127.0.0.1:8444", "Where a manager without the backup role reaches the backup role's internal API.")
	settingInstall = app.StringSetting("MIPO_INSTALL_NAME", "", "The installation's name, typed to confirm a restore and written into each backup. Default: the host name.")
)

func init() {
	app.Register(app.Module{
		Name:      "backup",
		Databases: []string{app.DBConfig, app.DBResults, app.DBJobs}, // it copies and restores them all
		Provision: provision,
	})
}

// InstallName is the name typed to confirm a restore.
func InstallName(cfg *app.Config) string {
	if n := settingInstall.Get(cfg); n != "" {
		return n
	}
	host, _ := os.Hostname()
	if host == "" {
		return "mipo"
	}
	return host
}

// Dir is the folder of the local backups.
func Dir(cfg *app.Config) string {
	if d := settingDir.Get(cfg); d != "" {
		return d
	}
	return filepath.Join(cfg.DataDir, "backups")
}

// NewRunner builds the runner of an installation from its configuration and databases.
func NewRunner(cfg *app.Config, dbs *app.Databases, events *app.Bus, secrets *app.SecretBox) (*Runner, error) {
	keys, err := NewKeys(cfg.BackupKey)
	if err != nil {
		return nil, err
	}
	return &Runner{Service: &Service{DB: dbs, Keys: keys, Dir: Dir(cfg), Install: InstallName(cfg), Secrets: installKeys(cfg),
		AuditKey: cfg.AuditKey, OpenOwner: func(ctx context.Context) (*app.Databases, func(), error) { return app.OpenOwner(ctx, cfg, dbs) }},
		Events: events, Secrets: secrets}, nil
}

// installKeys are the keys of .mipo.env a config backup carries: every secret key but the
// backup key itself, which the restoring operator brings.
func installKeys(cfg *app.Config) map[string]string {
	out := map[string]string{}
	for _, s := range app.Settings() {
		if s.Secret && strings.HasSuffix(s.Name, "_KEY") && s.Name != "MIPO_BACKUP_KEY" && cfg.Value(s.Name) != "" {
			out[s.Name] = cfg.Value(s.Name)
		}
	}
	return out
}

// provision mounts what this process's roles need: the backup role runs the schedules and the
// internal API; the manager role serves the backup pages' API, in-process when it also runs
// the backup role, otherwise through the internal API.
func provision(m *app.Mount) error {
	hasBackup := slices.Contains(m.Config.Roles, app.RoleBackup)
	hasManager := slices.Contains(m.Config.Roles, app.RoleManager)
	keys, err := NewKeys(m.Config.BackupKey)
	if err != nil {
		return err
	}
	runner, err := NewRunner(m.Config, m.Databases(), m.Events, m.Secrets)
	if err != nil {
		return err
	}
	runner.Clock = m.Clock.Now
	var backend Backend = NewClient(settingURL.Get(m.Config), m.Config.BackupKey)
	if hasBackup {
		backend = runner
		m.Every("schedule", time.Minute, runner.Tick)
		if !hasManager || m.Config.Value(settingListen.Name()) != "" {
			serveInternal(m, runner)
		}
	}
	if hasManager {
		m.Routes(handlers{m: m, backend: func() Backend { return backend }, install: func() string { return InstallName(m.Config) }, keys: keys}.routes()...)
	}
	return nil
}

// serveInternal opens the internal API's own listener, refusing a public address.
func serveInternal(m *app.Mount, runner *Runner) {
	var srv *http.Server
	m.OnStart(func(ctx context.Context) error {
		addr := settingListen.Get(m.Config)
		if err := internalOnly(addr); err != nil {
			return &app.ConfigError{Variable: settingListen.Name(), Reason: err.Error()}
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return &app.ConfigError{Variable: settingListen.Name(), Reason: err.Error()}
		}
		srv = &http.Server{Handler: internalHandler(runner, internalKey(m.Config.BackupKey)), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		m.Log.Info("backup internal API listening", "addr", ln.Addr().String())
		return nil
	})
	m.OnStop(func(ctx context.Context) error {
		if srv == nil {
			return nil
		}
		return srv.Shutdown(ctx)
	})
}

// internalOnly refuses a wildcard or public address: the internal API is for loopback or a
// private network.
func internalOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, such as 127.0.0.1:8444")
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsPrivate())) {
		return nil
	}
	if ip == nil {
		return nil // a name on the internal network, such as the compose service's
	}
	return errors.New("must be a loopback or private address: the internal backup API is never public")
}
