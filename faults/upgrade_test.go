package faults

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
)

// TestRollingUpgrade starts the topology on the previous commit's binaries (so the previous
// commit migrates the databases), starts a scan, and replaces each mipo process with this
// commit's binary, one at a time, while the scan streams: nothing lost, nothing stored twice,
// and the scan completes. It prints one line in the suite's format.
//
// The manager goes first. It is the process that migrates first in compose.yaml, so this
// commit's migrations are applied while every other process still runs the previous commit's
// binary: each old ingest, dispatcher and backup process then works on the new schema, which
// is the promise "migrations are forward-compatible for one version" put to the test. Were the
// manager last, the first new ingest node would migrate instead and the old manager would be
// the only old process facing the new schema.
//
// The scanners are upgraded after the scan: a scanner stopped on purpose leaves its running
// jobs to be handed out again after the stall window (see RestartScanners), so an operator
// upgrades them between scans, where that costs no time. Each must come back
// online on this commit's mipo-scanner with the config and spool the previous one registered.
func TestRollingUpgrade(t *testing.T) {
	oldBin, oldRev, migrations := previousBinaries(t)
	newBin := apptest.Binaries(t)
	started := time.Now()
	top := startTopologyOn(t, oldBin)
	t.Logf("topology up on %s's binaries in %s; %d migrations new since: %v", oldRev, time.Since(started).Round(time.Second), len(migrations), migrations)
	a := top.addScanner("upgrade-a", 400)
	b := top.addScanner("upgrade-b", 400)
	l := openListeners(t, []string{"127.0.0.4", "127.0.0.5"}, 150, 150)
	f := &faultRun{top: top, l: l, pool: []string{a.id, b.id}}
	f.results = top.dbs.Pool(t, app.DBResults)

	f.scan(t, "rolling upgrade", 15, func(t *testing.T, scanID string) string {
		top.useBinaries(newBin)
		var took []string
		for _, n := range []*node{top.manager, top.ingest[0], top.ingest[1], top.dispatcher[0], top.dispatcher[1], top.backup} {
			start := time.Now()
			top.stop(n)
			top.start(n) // this commit's binary: the manager's start applies the new migrations
			took = append(took, fmt.Sprintf("%s %s", n.name, time.Since(start).Round(100*time.Millisecond)))
			// Every process, old or new, stays ready on the schema as it now is.
			for _, o := range []*node{top.manager, top.ingest[0], top.ingest[1], top.dispatcher[0], top.dispatcher[1], top.backup} {
				if !o.p.Running() {
					t.Errorf("%s exited after %s was upgraded: %v\n%s", o.name, n.name, o.p.Err(), tail(o.p.Output(), 2000))
					continue
				}
				if code := readyz(o); code != http.StatusOK {
					t.Errorf("%s answers /readyz %d after %s was upgraded", o.name, code, n.name)
				}
			}
		}
		return fmt.Sprintf("%s → this commit (%d new migrations), replaced %s", oldRev, len(migrations), strings.Join(took, ", "))
	})

	t.Run("Scanners", func(t *testing.T) {
		for _, s := range top.scanners {
			s.p.Cmd.Process.Signal(syscall.SIGTERM) // by the PID this test started
			<-s.p.Exited()
			top.run(s)
			apptest.WaitFor(t, 60*time.Second, s.name+" online on this commit's mipo-scanner", func() bool {
				var list struct {
					Items []struct{ ID, Status, Version string }
				}
				top.owner.Get("/api/v1/scanners").JSON(t, &list)
				for _, it := range list.Items {
					if it.ID == s.id {
						return it.Status == "online" && it.Version != "" && it.Version != oldRev
					}
				}
				return false
			})
		}
		t.Logf("scanners %s and %s upgraded from %s and back online", a.name, b.name, oldRev)
	})
	t.Logf("the rolling upgrade took %s", time.Since(started).Round(time.Second))
}

// useBinaries makes every process started from now on run the binaries in bin, and the manager
// serve that mipo-scanner for download.
func (top *topology) useBinaries(bin string) {
	top.bin = bin
	for i, e := range top.env {
		if strings.HasPrefix(e, "MIPO_SCANNER_BINARY=") {
			top.env[i] = "MIPO_SCANNER_BINARY=" + filepath.Join(bin, "mipo-scanner")
		}
	}
}

func readyz(n *node) int {
	res, err := insecure.Get("http://" + n.addr + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// previousBinaries builds mipo and mipo-scanner from the repository's previous commit (for a
// merge, its first parent), stamped with that commit's short hash, offline from the module
// cache. It skips the test when there is no previous commit or a module is not in the cache;
// any other build failure fails it. It also lists the migrations this commit adds.
func previousBinaries(t *testing.T) (bin, rev string, migrations []string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	git := func(args ...string) (string, error) {
		// As root in a checkout owned by someone else, git refuses without safe.directory.
		out, err := exec.Command("git", append([]string{"-c", "safe.directory=*", "-C", root}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	full, err := git("rev-parse", "--verify", "--quiet", "HEAD~1^{commit}")
	if err != nil {
		t.Skipf("rolling upgrade: skipped, the repository has no previous commit to upgrade from (git rev-parse HEAD~1: %v %s)", err, full)
	}
	rev = full[:12]
	if out, err := git("diff", "--name-only", "--diff-filter=A", full, "HEAD", "--", "sql/"); err != nil {
		t.Fatalf("listing the migrations since %s: %v\n%s", rev, err, out)
	} else if out != "" {
		migrations = strings.Split(out, "\n")
	}

	dir, err := os.MkdirTemp("", "mipo-previous-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src, bin := filepath.Join(dir, "src"), filepath.Join(dir, "bin")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(bin, 0o755)
	tarball := filepath.Join(dir, "src.tar")
	if out, err := git("archive", "-o", tarball, full); err != nil {
		t.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	if out, err := exec.Command("tar", "-xf", tarball, "-C", src).CombinedOutput(); err != nil {
		t.Fatalf("unpacking %s: %v\n%s", rev, err, out)
	}
	for _, b := range []struct{ dir, out, stamp string }{
		{src, "mipo", "mipo/app.Version"},
		{filepath.Join(src, "scanner"), "mipo-scanner", "main.version"},
	} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X "+b.stamp+"="+rev, "-o", filepath.Join(bin, b.out), ".")
		cmd.Dir = b.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOPROXY=off", "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := string(out)
			for _, offline := range []string{"GOPROXY=off", "module lookup disabled", "missing go.sum entry", "cannot find module", "no required module provides"} {
				if strings.Contains(msg, offline) {
					t.Skipf("rolling upgrade: skipped, %s of %s cannot be built offline (a module is not in the cache): %s", b.out, rev, tail(msg, 1000))
				}
			}
			t.Fatalf("building %s of %s: %v\n%s", b.out, rev, err, msg)
		}
	}
	return bin, rev, migrations
}
