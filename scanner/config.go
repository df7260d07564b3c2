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

const (
	defaultMaxConcurrency = 2000
	defaultMaxRate        = 20000
)

// capacity is what this scanner can do: its configured (or default)
// concurrency and rate, with concurrency kept below the fd limit.
func capacity(c *Config, fdLimit int) Capacity {
	conc, rate := defaultMaxConcurrency, defaultMaxRate
	if c != nil && c.MaxConcurrency > 0 {
		conc = c.MaxConcurrency
	}
	if c != nil && c.MaxRate > 0 {
		rate = c.MaxRate
	}
	conc = max(1, min(conc, fdLimit-2*fdHeadroom))
	return Capacity{MaxConcurrency: conc, MaxRate: rate, FDLimit: fdLimit}
}
