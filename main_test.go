package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// These tests run the real binary, as an operator would: `mipo serve` on the embedded
// PostgreSQL, and two processes with different roles sharing three databases.

func TestMain(m *testing.M) { apptest.Main(m) }

func mipoBinary(t *testing.T) string { return filepath.Join(apptest.Binaries(t), "mipo") }

func startMipo(t *testing.T, env []string, args ...string) *apptest.Process {
	t.Helper()
	return apptest.StartProcess(t, mipoBinary(t), env, args...)
}

var insecure = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

func waitStatus(t *testing.T, p *apptest.Process, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := insecure.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == want {
				return
			}
		}
		if !p.Running() {
			t.Fatalf("mipo exited (%v) before %s answered %d", p.Err(), url, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d in time", url, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postgresProcesses lists running postgres processes whose command line mentions dir.
func postgresProcesses(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(line, "postgres") && strings.Contains(line, dir) {
			out = append(out, e.Name()+": "+line)
		}
	}
	return out
}

func TestServeEmbeddedStopsCleanlyAndRestartsOnItsData(t *testing.T) {
	// t.TempDir is private (0700); when the test runs as root, the embedded PostgreSQL runs as
	// an unprivileged user that must be able to enter the folder above the data directory.
	parent, err := os.MkdirTemp("", "mipo-serve-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	os.Chmod(parent, 0o711)
	data := filepath.Join(parent, "data")
	addr := apptest.FreeAddr(t)
	env := []string{"MIPO_LOG_LEVEL=warn"}
	args := []string{"serve", "--data-dir", data, "--listen", addr}

	p := startMipo(t, env, args...)
	waitStatus(t, p, "https://"+addr+"/healthz", 200)
	waitStatus(t, p, "https://"+addr+"/readyz", 200)
	// The embedded cluster runs mipo as a role that owns nothing, so the audit log is
	// append-only against mipo itself.
	if res, err := insecure.Get("https://" + addr + "/readyz"); err != nil {
		t.Fatal(err)
	} else {
		var h app.Health
		json.NewDecoder(res.Body).Decode(&h)
		res.Body.Close()
		if h.AppendOnly != "enforced" {
			t.Fatalf("the embedded cluster must enforce the audit log's immutability, /readyz says %q", h.AppendOnly)
		}
	}
	if !strings.Contains(p.Output(), "is running at https://"+addr) {
		t.Fatalf("the address was not printed:\n%s", p.Output())
	}
	if len(postgresProcesses(data)) == 0 {
		t.Fatal("no embedded PostgreSQL is running for the data directory")
	}
	envFile, _ := os.ReadFile(filepath.Join(data, app.EnvFileName))
	pgVersion, _ := os.Stat(filepath.Join(data, "postgres", "data", "PG_VERSION"))

	start := time.Now()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited():
		if err := p.Err(); err != nil {
			t.Fatalf("mipo exited with %v:\n%s", err, p.Output())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("mipo did not stop within 10 s of SIGTERM:\n%s", p.Output())
	}
	t.Logf("stopped in %s", time.Since(start))
	if left := postgresProcesses(data); len(left) > 0 {
		t.Fatalf("PostgreSQL processes left behind: %v", left)
	}

	p = startMipo(t, env, args...)
	waitStatus(t, p, "https://"+addr+"/readyz", 200)
	envAgain, _ := os.ReadFile(filepath.Join(data, app.EnvFileName))
	pgAgain, _ := os.Stat(filepath.Join(data, "postgres", "data", "PG_VERSION"))
	if !bytes.Equal(envFile, envAgain) || !pgVersion.ModTime().Equal(pgAgain.ModTime()) {
		t.Fatal("the second start did not reuse the data directory")
	}
}

func TestIngestAndManagerShareTheDatabases(t *testing.T) {
	dbs := apptest.EmptyDatabases(t)
	env := []string{"MIPO_LOG_LEVEL=warn", "MIPO_TLS=off",
		"MIPO_CONFIG_DSN=" + dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN=" + dbs.DSN(app.DBResults), "MIPO_JOBS_DSN=" + dbs.DSN(app.DBJobs),
		"MIPO_CONFIG_MIGRATE_DSN=" + dbs.OwnerDSN(app.DBConfig), "MIPO_RESULTS_MIGRATE_DSN=" + dbs.OwnerDSN(app.DBResults), "MIPO_JOBS_MIGRATE_DSN=" + dbs.OwnerDSN(app.DBJobs)}
	var procs []*apptest.Process
	var addrs []string
	for _, role := range []string{"ingest", "manager"} {
		addr := apptest.FreeAddr(t)
		procs = append(procs, startMipo(t, env, "serve", "--role", role, "--listen", addr, "--data-dir", filepath.Join(t.TempDir(), role)))
		addrs = append(addrs, addr)
	}
	for i, p := range procs {
		waitStatus(t, p, "http://"+addrs[i]+"/readyz", 200)
	}
	for _, db := range app.DatabaseNames {
		var dupes int
		dbs.Databases.Pool(db).QueryRow(context.Background(),
			`SELECT count(*) FROM (SELECT version_id FROM goose_db_version WHERE version_id > 0 GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dupes)
		if dupes != 0 {
			t.Fatalf("%s: migrations ran more than once", db)
		}
	}
}

func TestUnknownRoleIsAClearError(t *testing.T) {
	out, err := exec.Command(mipoBinary(t), "serve", "--role", "janitor", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `MIPO_ROLE: unknown role "janitor"`) || !strings.Contains(string(out), "manager, ingest, dispatcher, backup") {
		t.Fatalf("want a clear unknown-role error, got %v:\n%s", err, out)
	}
}

// A checkout in a private directory, as root: PostgreSQL runs as the unprivileged postgres user,
// who cannot enter it, so the cluster is placed where that user can reach and linked from the
// data directory; the user's directories keep their modes. Ctrl-C then leaves no process behind.
func TestServeAsRootInsideAPrivateDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs only as root: the embedded PostgreSQL then runs as another user, who cannot enter a 0700 directory")
	}
	home := t.TempDir()
	os.Chmod(home, 0o700) // owned by root, private, as /root is
	checkout := filepath.Join(home, "mipo")
	if err := os.Mkdir(checkout, 0o700); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(checkout, "mipo-data")
	link := filepath.Join(data, "postgres")
	t.Cleanup(func() { // after the process is stopped: the placed cluster is ours to remove
		if target, err := os.Readlink(link); err == nil && strings.HasPrefix(target, app.PlacementRoot) {
			os.RemoveAll(target)
		}
	})
	addr := apptest.FreeAddr(t)
	p := startMipo(t, []string{"MIPO_LOG_FORMAT=text"}, "serve", "--data-dir", data, "--listen", addr)
	waitStatus(t, p, "https://"+addr+"/readyz", 200)

	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, app.PlacementRoot+"/") {
		t.Fatalf("%s should link to a cluster under %s: %q, %v", link, app.PlacementRoot, target, err)
	}
	if !strings.Contains(p.Output(), "cluster="+target) {
		t.Fatalf("the log does not say where the cluster lives:\n%s", p.Output())
	}
	for _, d := range []string{home, checkout} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s was loosened to %v", d, fi.Mode().Perm())
		}
	}
	if len(postgresProcesses(target)) == 0 {
		t.Fatal("no embedded PostgreSQL runs in the placed cluster")
	}

	p.Cmd.Process.Signal(os.Interrupt) // Ctrl-C
	select {
	case <-p.Exited():
		if err := p.Err(); err != nil {
			t.Fatalf("mipo exited with %v after Ctrl-C:\n%s", err, p.Output())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("mipo did not stop within 15 s of Ctrl-C:\n%s", p.Output())
	}
	if left := postgresProcesses(target); len(left) > 0 {
		t.Fatalf("PostgreSQL processes left behind: %v", left)
	}
}

// A start that fails prints the failing step's error and exits non-zero, without a panic.
func TestAFailedStartSaysWhyAndExitsNonZero(t *testing.T) {
	nowhere := "postgres://mipo@/mipo?host=" + filepath.Join(t.TempDir(), "no-socket-here")
	cmd := exec.Command(mipoBinary(t), "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--tls", "off",
		"--config-dsn", nowhere, "--results-dsn", nowhere, "--jobs-dsn", nowhere)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || strings.Contains(string(out), "panic") ||
		!strings.Contains(string(out), "mipo: starting databases: MIPO_CONFIG_DSN") {
		t.Fatalf("want a non-zero exit naming the step and the variable, got %v:\n%s", err, out)
	}
}

// The role graph is printed from the one place it is declared. (A role with no module is
// refused: TestParseRoles.)
func TestRoleGraphIsPrinted(t *testing.T) {
	out, err := exec.Command(mipoBinary(t), "serve", "--list-roles").CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// Columns are padded to the longest name, so compare rows by their fields.
	rows := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	for _, want := range []string{"ROLE RUNS, IN START ORDER", "MODULE REQUIRES", "results rbac"} {
		if !rows[want] {
			t.Errorf("--list-roles does not print the row %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), "\nbackup ") || !regexp.MustCompile(`\nbackup +backup`).MatchString(string(out)) {
		t.Errorf("--list-roles does not say the backup role runs the backup module:\n%s", out)
	}
	for _, role := range app.Roles {
		if !strings.Contains(string(out), "\n"+role+" ") {
			t.Errorf("--list-roles leaves out the role %s", role)
		}
	}
}
