package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const defaultConfigPath = "/etc/mipo-scanner/config.json"

// Config is what register stores and run reads. The API key is not in it:
// it lives in KeyFile, readable by the scanner's user alone.
type Config struct {
	Server         string `json:"server"`     // https://mipo.example.org
	ScannerID      string `json:"scanner_id"` // from register
	Name           string `json:"name"`
	Pin            string `json:"pin,omitempty"` // sha256//BASE64 of the server key's SPKI
	KeyFile        string `json:"key_file"`
	SpoolDir       string `json:"spool_dir"`
	MaxConcurrency int    `json:"max_concurrency,omitempty"` // 0: default
	MaxRate        int    `json:"max_rate,omitempty"`        // 0: default
	MaxJobs        int    `json:"max_jobs,omitempty"`        // 0: default
}

// configPath is --config, else $MIPO_SCANNER_CONFIG, else the default.
func configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("MIPO_SCANNER_CONFIG"); env != "" {
		return env
	}
	return defaultConfigPath
}

// defaultSpoolDir keeps the spool under /var/lib for the system install and
// beside the config file anywhere else.
func defaultSpoolDir(cfgPath string) string {
	if cfgPath == defaultConfigPath {
		return "/var/lib/mipo-scanner/spool"
	}
	return filepath.Join(filepath.Dir(cfgPath), "spool")
}

func loadConfig(path string) (*Config, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading config (--config or MIPO_SCANNER_CONFIG): %w; run 'mipo-scanner register' first", err)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, "", fmt.Errorf("config %s: %v", path, err)
	}
	if c.Server == "" || c.KeyFile == "" || c.SpoolDir == "" {
		return nil, "", fmt.Errorf("config %s: server, key_file and spool_dir are required", path)
	}
	key, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return nil, "", fmt.Errorf("config %s: reading the API key: %w", path, err)
	}
	return &c, strings.TrimSpace(string(key)), nil
}

// saveConfig writes the key file (0600) and then the config (0600) in a
// directory created 0700, each atomically.
func saveConfig(path string, c *Config, apiKey string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.KeyFile), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(c.KeyFile, []byte(apiKey+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the API key: %w", err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// writeFileAtomic writes data to a temporary file beside path, fsyncs it,
// renames it over path and fsyncs the directory, so path holds either the
// old or the new content, whole, even after a crash.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // harmless after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// raiseFDLimit lifts the soft RLIMIT_NOFILE to the hard limit and returns
// the limit now in force.
func raiseFDLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		old := rl.Cur
		rl.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
			rl.Cur = old
		}
	}
	return int(min(rl.Cur, 1<<30))
}

// The default capacity fits a small machine (one core, 512 MiB), and says
// why in `register --help` and docs/scanner-protocol.md:
//
//   - 2,000 attempts in flight: 2,000 sockets (kept below the fd limit) and
//     about 11 MiB of resident memory in all. Silent addresses set a scan's
//     pace at concurrency / timeout: 2,000 in flight probe a dropped /24's
//     100 ports twice, at a 500 ms timeout, in 20 s.
//   - 20,000 attempts per second: about a fifth of one core with the epoll
//     engine (under 10 µs of CPU per probe, the kernel's work included,
//     measured on loopback by `make bench`), and about 1.3 MB/s of SYNs, so
//     neither the scanner's host nor the firewalls on the way are swamped.
//   - 4 jobs at once, sharing those limits: a long pool job does not keep a
//     vantage job waiting, and more jobs never mean more load.
const (
	defaultMaxConcurrency = 2000
	defaultMaxRate        = 20000
	defaultMaxJobs        = 4
)

// capacity is what this scanner can do: its configured (or default)
// concurrency, rate and jobs at once, with concurrency kept below the fd limit.
func capacity(c *Config, fdLimit int) Capacity {
	conc, rate, jobs := defaultMaxConcurrency, defaultMaxRate, defaultMaxJobs
	if c != nil && c.MaxConcurrency > 0 {
		conc = c.MaxConcurrency
	}
	if c != nil && c.MaxRate > 0 {
		rate = c.MaxRate
	}
	if c != nil && c.MaxJobs > 0 {
		jobs = c.MaxJobs
	}
	conc = max(1, min(conc, fdLimit-2*fdHeadroom))
	return Capacity{MaxConcurrency: conc, MaxRate: rate, FDLimit: fdLimit, MaxJobs: jobs}
}
