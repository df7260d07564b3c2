package main

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run the real program: the test binary re-executed
// with MIPO_SCANNER_TEST_MAIN=1 is mipo-scanner.
func TestMain(m *testing.M) {
	if os.Getenv("MIPO_SCANNER_TEST_MAIN") == "1" {
		main()
		return
	}
	if spec := os.Getenv(benchScanEnv); spec != "" {
		benchScanMain(spec)
		return
	}
	os.Exit(m.Run())
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIUsageErrorsNameTheFlag(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"register", "--token", "t", "--config", cfg}, 2, "--server is required"},
		{[]string{"register", "--server", "https://127.0.0.1", "--config", cfg}, 2, "--token is required"},
		{[]string{"register", "--server", "https://127.0.0.1", "--token", "t", "--pin", "md5//x", "--config", cfg}, 2, "--pin"},
		{[]string{"register", "--server", "http://127.0.0.1:1", "--token", "t", "--config", cfg}, 2, "--insecure-http"},
		{[]string{"register", "--server", "https://127.0.0.1", "--token", "t", "--max-rate", "-1", "--config", cfg}, 2, "--max-rate"},
		{[]string{"register", "--bogus"}, 2, "-bogus"},
		{[]string{"run", "--config", cfg}, 2, "register' first"},
		{[]string{"run", "extra"}, 2, "unexpected argument"},
		{[]string{"run", "--test-batch-size", "5001"}, 2, "1 to 5000"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"register", "--help"}, 0, "provisioning token"},
		{[]string{"run", "--help"}, 0, "SIGTERM"},
		{[]string{"run", "--help"}, 0, "--insecure-http\n    \tallow a plain http:// server URL: FOR TESTS ONLY"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(c.args...)
		if c.code == 0 {
			stderr = stdout // help goes to stdout
		}
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if code, out, _ := runCLI("version", "--help"); code != 0 || !strings.Contains(out, "Prints this program's version") {
		t.Errorf("version --help: %d %q", code, out)
	}
	if code, out, _ := runCLI("version"); code != 0 || out != "mipo-scanner dev\n" {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := runCLI("--help"); code != 0 || !strings.Contains(out, "mipo-scanner run") {
		t.Errorf("--help: %d %q", code, out)
	}
}

func TestRegisterStoresConfigAndKey(t *testing.T) {
	f := newFakeIngest(t)
	dir := filepath.Join(t.TempDir(), "etc")
	cfg := filepath.Join(dir, "config.json")
	code, out, stderr := runCLI("register", "--server", f.ts.URL, "--token", "mpt_test", "--config", cfg, "--insecure-http", "--max-rate", "500")
	if code != 0 {
		t.Fatalf("register: %d %s", code, stderr)
	}
	if !strings.Contains(out, "registered") {
		t.Fatalf("stdout %q", out)
	}
	c, key, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if key != "msk_test" || c.Server != f.ts.URL || c.ScannerID == "" || c.MaxRate != 500 || c.SpoolDir != filepath.Join(dir, "spool") {
		t.Fatalf("config %+v key %q", c, key)
	}
	raw, _ := os.ReadFile(cfg)
	if strings.Contains(string(raw), "msk_test") {
		t.Fatal("the API key is in the config file; it belongs in the key file only")
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, c.KeyFile: 0o600, cfg: 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, want %v (%v)", path, st.Mode(), want, err)
		}
	}
	// Again: refused without --force; with it, the used token is refused by ingest.
	if code, _, stderr := runCLI("register", "--server", f.ts.URL, "--token", "mpt_test", "--config", cfg, "--insecure-http"); code != 2 || !strings.Contains(stderr, "--force") {
		t.Fatalf("second register: %d %s", code, stderr)
	}
	code, _, stderr = runCLI("register", "--server", f.ts.URL, "--token", "mpt_test", "--config", cfg, "--insecure-http", "--force")
	if code != 1 || !strings.Contains(stderr, "--token was refused") {
		t.Fatalf("used token: %d %s", code, stderr)
	}
	// The environment variable names the config too.
	t.Setenv("MIPO_SCANNER_CONFIG", cfg)
	if got := configPath(""); got != cfg {
		t.Fatalf("configPath from env: %q", got)
	}
}

// The real program, as a process: SIGTERM while a job runs stops it without
// completing it (the job stays leased; ingest hands it out again) and exits 0.
func TestRunStopsOnSIGTERM(t *testing.T) {
	f := newFakeIngest(t)
	cfg := filepath.Join(t.TempDir(), "config.json")
	if code, _, stderr := runCLI("register", "--server", f.ts.URL, "--token", "mpt_test", "--config", cfg, "--insecure-http"); code != 0 {
		t.Fatal(stderr)
	}
	f.queue = []string{blackholeJob(t, nil)}
	cmd := exec.Command(os.Args[0], "run", "--config", cfg, "--insecure-http")
	cmd.Env = append(os.Environ(), "MIPO_SCANNER_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	eventually(t, 10*time.Second, "the job to be leased", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.queue) == 0 })
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM\n%s", stderr.String())
	}
	if c, ok := f.completed(testJobID); ok {
		t.Fatalf("the stopped scanner completed its job: %+v\n%s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "the job stays leased") {
		t.Fatalf("the log does not say the job stays leased:\n%s", stderr.String())
	}
	var hb []byte
	f.mu.Lock()
	if len(f.heartbeats) > 0 {
		hb, _ = json.Marshal(f.heartbeats[0])
	}
	f.mu.Unlock()
	if !strings.Contains(string(hb), `"fd_limit"`) {
		t.Fatalf("no heartbeat from the process: %s", hb)
	}
}

// The scanner imports nothing outside the standard library (doc.go): no
// require in go.mod, and no import path whose first element looks like a
// host name.
func TestStandardLibraryOnly(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mod), "require") {
		t.Fatalf("go.mod has a require:\n%s", mod)
	}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s, outside the standard library", name, path)
			}
		}
	}
}
