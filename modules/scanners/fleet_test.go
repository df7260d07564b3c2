package scanners_test

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"
)

// A real mipo-scanner that is killed shows offline on the fleet page once the offline window
// (20 s here, by the clock the test moves) has passed without a heartbeat, and not before.
func TestTheFleetPageShowsAKilledScannerOfflineAfterTheWindow(t *testing.T) {
	dbs := apptest.Databases(t)
	clock := app.NewFakeClock(time.Now())
	srv := apptest.Start(t, scannerstest.Config(t, dbs, map[string]string{"MIPO_SCANNER_OFFLINE_AFTER": "20s"}, app.RoleManager, app.RoleIngest),
		dbs, app.Options{Clock: clock})
	owner := rbactest.Owner(t, srv)
	bin := apptest.Binaries(t)
	tok := scannerstest.Provision(t, owner, map[string]any{"name": "edge-1"})
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.json")
	if out, err := exec.Command(filepath.Join(bin, "mipo-scanner"), "register", "--server", srv.URL, "--token", tok.Secret,
		"--config", conf, "--spool", filepath.Join(dir, "spool"), "--insecure-http").CombinedOutput(); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	fleet := func() scanners.ScannerHealth {
		var f scanners.FleetHealth
		r := owner.Get("/api/v1/scanners/health")
		if r.Status != http.StatusOK {
			t.Fatalf("fleet: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &f)
		if len(f.Scanners) != 1 {
			t.Fatalf("%d scanners on the fleet page", len(f.Scanners))
		}
		return f.Scanners[0]
	}
	sc := apptest.StartProcess(t, filepath.Join(bin, "mipo-scanner"), nil, "run", "--config", conf, "--insecure-http")
	apptest.WaitFor(t, 30*time.Second, "the scanner online with its heartbeat on the fleet page", func() bool {
		s := fleet()
		return s.Status == scanners.StatusOnline && len(s.Sparklines.At) > 0
	})
	sc.Cmd.Process.Kill()
	<-sc.Exited()
	// Inside the window: still online, and not stale.
	clock.Advance(15 * time.Second)
	time.Sleep(6 * time.Second) // the offline check runs every 5 s (a quarter of the window)
	if s := fleet(); s.Status != scanners.StatusOnline || s.Stale {
		t.Fatalf("15 s after its last heartbeat, inside a 20 s window: %s, stale %v", s.Status, s.Stale)
	}
	clock.Advance(6 * time.Second)
	apptest.WaitFor(t, 15*time.Second, "the killed scanner offline on the fleet page", func() bool {
		return fleet().Status == scanners.StatusOffline
	})
}
