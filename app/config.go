package app

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The kernel's own settings. Modules declare theirs the same way, beside their code.
var (
	settingDataDir  = StringSetting("MIPO_DATA_DIR", "./mipo-data", "Directory for .mipo.env, the TLS certificate and the embedded PostgreSQL cluster.")
	settingListen   = StringSetting("MIPO_LISTEN", ":8443", "Address the HTTP server listens on.")
	settingTLS      = ChoiceSetting("MIPO_TLS", "on", "Serve HTTPS with the certificate in the data directory (a self-signed one is generated on first start), or plain HTTP behind a proxy", "on", "off")
	settingRole     = StringSetting("MIPO_ROLE", RoleAll, "Comma list of roles this process runs: manager, ingest, dispatcher, backup, or all.")
	settingCfgDSN   = StringSetting("MIPO_CONFIG_DSN", "", "PostgreSQL URL of the config database. With no DSN set, mipo runs an embedded PostgreSQL cluster.")
	settingResDSN   = StringSetting("MIPO_RESULTS_DSN", "", "PostgreSQL URL of the results database (TimescaleDB when available).")
	settingJobsDSN  = StringSetting("MIPO_JOBS_DSN", "", "PostgreSQL URL of the jobs database.")
	settingPGBin    = StringSetting("MIPO_PG_BIN", "", "Directory holding the PostgreSQL server binaries (initdb, postgres) for the embedded cluster; found on PATH or in /usr/lib/postgresql/*/bin when unset.")
	settingLogLevel = ChoiceSetting("MIPO_LOG_LEVEL", "info", "Lowest level logged", "debug", "info", "warn", "error")
	settingLogFmt   = ChoiceSetting("MIPO_LOG_FORMAT", "json", "Log line format", "json", "text")
	settingProxies  = StringSetting("MIPO_TRUSTED_PROXIES", "", "Comma list of proxy addresses or CIDRs whose X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host headers are believed. Empty: the connection's own address, scheme and host count.")
	settingShutdown = DurationSetting("MIPO_SHUTDOWN_TIMEOUT", 8*time.Second, "How long a stopping process waits for in-flight requests and jobs.")
)

// Config is a process's validated configuration. Values come, highest first, from command-line
// flags, the process environment, and the data directory's .mipo.env file.
type Config struct {
	values map[string]string

	DataDir        string
	Listen         string
	TLS            bool
	Roles          []string
	ConfigDSN      string
	ResultsDSN     string
	JobsDSN        string
	TrustedProxies []netip.Prefix
	// Secrets are generated into .mipo.env on first start.
	SessionKey []byte
	SecretKey  []byte
	BackupKey  []byte
	AuditKey   []byte // keys the audit log's HMAC chain and its checkpoints
	// Certificate is what the TLS listener serves; the tls module replaces it at run time.
	Certificate *LiveCertificate
}

// ConfigError names the variable that is wrong and why.
type ConfigError struct{ Variable, Reason string }

func (e *ConfigError) Error() string { return e.Variable + ": " + e.Reason }

// LoadConfig builds a Config from flags (already mapped to MIPO_* names) and the environment,
// creating the data directory and its .mipo.env on first start.
func LoadConfig(flags map[string]string, environ []string) (*Config, error) {
	values := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "MIPO_") {
			values[k] = v
		}
	}
	for k, v := range flags {
		values[k] = v
	}
	c := &Config{values: values, Certificate: &LiveCertificate{}}
	c.DataDir = c.lookup(settingDataDir.s)
	if c.DataDir == "" {
		return nil, &ConfigError{"MIPO_DATA_DIR", "must not be empty"}
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, &ConfigError{"MIPO_DATA_DIR", err.Error()}
	}
	c.DataDir = abs
	if err := makeDataDir(c.DataDir); err != nil {
		return nil, &ConfigError{"MIPO_DATA_DIR", fmt.Sprintf("cannot create %s: %v", c.DataDir, err)}
	}
	fileValues, err := EnsureEnvFile(c.DataDir)
	if err != nil {
		return nil, err
	}
	for k, v := range fileValues {
		if _, set := c.values[k]; !set {
			c.values[k] = v
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// makeDataDir creates the data directory when it is missing. As root it is made 0711: the
// embedded PostgreSQL runs as an unprivileged user who must pass through it to its own folder
// (never list or read it; the secrets in it are 0600). A directory that already exists is the
// user's and is left as it is.
func makeDataDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return os.Chmod(dir, 0o711)
	}
	return nil
}

// lookup returns a setting's value or its default.
func (c *Config) lookup(s *Setting) string {
	if v, ok := c.values[s.Name]; ok {
		return v
	}
	return s.Default
}

// validate checks every declared setting and fills the kernel's typed fields.
func (c *Config) validate() error {
	var errs []error
	for _, s := range Settings() {
		if v, ok := c.values[s.Name]; ok {
			if err := s.parse(v); err != nil {
				errs = append(errs, &ConfigError{s.Name, err.Error()})
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c.Listen = c.lookup(settingListen.s)
	if _, _, err := splitHostPort(c.Listen); err != nil {
		errs = append(errs, &ConfigError{"MIPO_LISTEN", "must be host:port or :port, such as :8443"})
	}
	c.TLS = c.lookup(settingTLS.s) == "on"
	roles, err := ParseRoles(c.lookup(settingRole.s))
	if err != nil {
		errs = append(errs, &ConfigError{"MIPO_ROLE", err.Error()})
	}
	c.Roles = roles
	c.ConfigDSN, c.ResultsDSN, c.JobsDSN = c.lookup(settingCfgDSN.s), c.lookup(settingResDSN.s), c.lookup(settingJobsDSN.s)
	if set := countNonEmpty(c.ConfigDSN, c.ResultsDSN, c.JobsDSN); set != 0 && set != 3 {
		errs = append(errs, &ConfigError{"MIPO_CONFIG_DSN", "set all three of MIPO_CONFIG_DSN, MIPO_RESULTS_DSN and MIPO_JOBS_DSN, or none of them for the embedded PostgreSQL"})
	}
	for _, dsn := range []struct{ name, v string }{{"MIPO_CONFIG_DSN", c.ConfigDSN}, {"MIPO_RESULTS_DSN", c.ResultsDSN}, {"MIPO_JOBS_DSN", c.JobsDSN}} {
		if dsn.v != "" {
			if err := checkDSN(dsn.v); err != nil {
				errs = append(errs, &ConfigError{dsn.name, err.Error()})
			}
		}
	}
	if c.TrustedProxies, err = parsePrefixes(c.lookup(settingProxies.s)); err != nil {
		errs = append(errs, &ConfigError{"MIPO_TRUSTED_PROXIES", err.Error()})
	}
	for _, k := range []struct {
		s   *Setting
		dst *[]byte
	}{{settingSessionKey.s, &c.SessionKey}, {settingSecretKey.s, &c.SecretKey}, {settingBackupKey.s, &c.BackupKey}, {settingAuditKey.s, &c.AuditKey}} {
		b, err := decodeKey(c.lookup(k.s))
		if err != nil {
			errs = append(errs, &ConfigError{k.s.Name, err.Error()})
		}
		*k.dst = b
	}
	return errors.Join(errs...)
}

// Embedded reports whether this process runs its own PostgreSQL cluster.
func (c *Config) Embedded() bool { return c.ConfigDSN == "" }

// Value returns the raw value of a MIPO_* variable (for settings not declared as typed vars).
func (c *Config) Value(name string) string { return c.values[name] }

// WithDSNs returns a copy of c using the given databases (the embedded cluster's, or a test's).
func (c *Config) WithDSNs(configDSN, resultsDSN, jobsDSN string) *Config {
	cp := *c
	cp.ConfigDSN, cp.ResultsDSN, cp.JobsDSN = configDSN, resultsDSN, jobsDSN
	return &cp
}

func countNonEmpty(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", part)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
