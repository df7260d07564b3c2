package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvFileCreatedPrivateAndNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureEnvFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, EnvFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf(".mipo.env has mode %o, want 600", fi.Mode().Perm())
	}
	for _, name := range generatedSecrets {
		if _, err := decodeKey(first[name]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	before, _ := os.ReadFile(path)
	again, err := EnsureEnvFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) || again["MIPO_SESSION_KEY"] != first["MIPO_SESSION_KEY"] {
		t.Fatal("a second start changed .mipo.env")
	}
}

// An install made before MIPO_AUDIT_KEY (and MIPO_APP_DB_PASSWORD) existed gets them appended
// on its next start; every line it had stays as it was.
func TestEnvFileOfAnOlderReleaseGetsTheNewSecretsAppended(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, EnvFileName)
	old := "# mipo secrets\nMIPO_SESSION_KEY=" + strings.Repeat("a", 43) + "\nMIPO_SECRET_KEY=" + strings.Repeat("b", 43) + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	values, err := EnsureEnvFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(after), old) {
		t.Fatalf("the older lines were changed:\n%s", after)
	}
	for _, name := range []string{"MIPO_AUDIT_KEY", "MIPO_APP_DB_PASSWORD"} {
		if _, err := decodeKey(values[name]); err != nil {
			t.Fatalf("%s was not appended: %v", name, err)
		}
	}
	if _, ok := values["MIPO_BACKUP_KEY"]; ok {
		t.Fatal("a secret that existed from the first release was invented: restoring it is the operator's call")
	}
	again, _ := EnsureEnvFile(dir)
	if again["MIPO_AUDIT_KEY"] != values["MIPO_AUDIT_KEY"] {
		t.Fatal("a second start changed the appended key")
	}
}

func TestSecretsDifferBetweenInstalls(t *testing.T) {
	a, _ := EnsureEnvFile(t.TempDir())
	b, _ := EnsureEnvFile(t.TempDir())
	seen := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for name, v := range m {
			if other, dup := seen[v]; dup {
				t.Fatalf("%s and %s share a value", name, other)
			}
			seen[v] = name
		}
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		flags    map[string]string
		variable string
	}{
		{map[string]string{"MIPO_TLS": "maybe"}, "MIPO_TLS"},
		{map[string]string{"MIPO_ROLE": "janitor"}, "MIPO_ROLE"},
		{map[string]string{"MIPO_LISTEN": "8443"}, "MIPO_LISTEN"},
		{map[string]string{"MIPO_SHUTDOWN_TIMEOUT": "soon"}, "MIPO_SHUTDOWN_TIMEOUT"},
		{map[string]string{"MIPO_LOG_LEVEL": "loud"}, "MIPO_LOG_LEVEL"},
		{map[string]string{"MIPO_TRUSTED_PROXIES": "10.0.0.0/33"}, "MIPO_TRUSTED_PROXIES"},
		{map[string]string{"MIPO_CONFIG_DSN": "postgres://x@h/db"}, "MIPO_CONFIG_DSN"},
		{map[string]string{"MIPO_CONFIG_DSN": "::nope::", "MIPO_RESULTS_DSN": "postgres://h/r", "MIPO_JOBS_DSN": "postgres://h/j"}, "MIPO_CONFIG_DSN"},
		{map[string]string{"MIPO_SESSION_KEY": "c2hvcnQ"}, "MIPO_SESSION_KEY"},
	}
	for _, c := range cases {
		flags := map[string]string{"MIPO_DATA_DIR": t.TempDir()}
		for k, v := range c.flags {
			flags[k] = v
		}
		_, err := LoadConfig(flags, nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.variable+":") {
			t.Errorf("%v: want an error naming %s, got %v", c.flags, c.variable, err)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadConfig(map[string]string{"MIPO_DATA_DIR": dir, "MIPO_LISTEN": ":9000"},
		[]string{"MIPO_LISTEN=:7000", "MIPO_TLS=off", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":9000" || cfg.TLS {
		t.Fatalf("flags must win over the environment: listen %s tls %v", cfg.Listen, cfg.TLS)
	}
	file, _ := readEnvFile(filepath.Join(dir, EnvFileName))
	cfg, err = LoadConfig(map[string]string{"MIPO_DATA_DIR": dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.SessionKey) == "" || cfg.Value("MIPO_SESSION_KEY") != file["MIPO_SESSION_KEY"] {
		t.Fatal(".mipo.env values are not loaded")
	}
}

func TestSecretBoxRoundTripAndTamper(t *testing.T) {
	box, err := NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("smtp.password", "hunter2")
	if err != nil || strings.Contains(sealed, "hunter2") {
		t.Fatalf("seal: %q %v", sealed, err)
	}
	if got, err := box.Open("smtp.password", sealed); err != nil || got != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := box.Open("webhook.secret", sealed); err == nil {
		t.Fatal("a sealed value opened under another purpose")
	}
	other, _ := NewSecretBox([]byte("fedcba9876543210fedcba9876543210"))
	if _, err := other.Open("smtp.password", sealed); err == nil {
		t.Fatal("a sealed value opened under another key")
	}
}
