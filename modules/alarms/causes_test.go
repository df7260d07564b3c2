package alarms

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/ingest"
	_ "mipo/modules/jobs" // fills in jobsapi
	_ "mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"
)

// These tests cause the faults for real: a mipo-scanner process stops, a dispatcher process
// is killed, the jobs database's cluster is stopped.

// A real scanner that stops is marked offline once the clock moves past 2 minutes, and the
// alarm opens from scanner.offline on the event bus; when it runs again the alarm resolves.
func TestAStoppedScannerRaisesAndItsReturnResolvesTheAlarm(t *testing.T) {
	f := newFixtureRoles(t, "manager,ingest")
	bin := apptest.Binaries(t)
	var tok struct{ Secret string }
	f.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": "edge-1"}).JSON(t, &tok)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.json")
	if out, err := exec.Command(filepath.Join(bin, "mipo-scanner"), "register", "--server", f.srv.URL, "--token", tok.Secret,
		"--config", conf, "--spool", filepath.Join(dir, "spool"), "--insecure-http").CombinedOutput(); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	run := func() *apptest.Process {
		return apptest.StartProcess(t, filepath.Join(bin, "mipo-scanner"), nil, "run", "--config", conf, "--insecure-http")
	}
	status := func() string {
		var list struct{ Items []struct{ Status string } }
		f.owner.Get("/api/v1/scanners").JSON(t, &list)
		return list.Items[0].Status
	}
	sc := run()
	apptest.WaitFor(t, 30*time.Second, "the scanner online", func() bool { return status() == "online" })
	sc.Cmd.Process.Kill()
	<-sc.Exited()
	f.clock.Advance(3 * time.Minute)
	apptest.WaitFor(t, 40*time.Second, "the heartbeat-lost alarm", func() bool {
		return len(f.alarms("rule=scanner.heartbeat.lost&state=open")) == 1
	})
	a := f.alarms("rule=scanner.heartbeat.lost")[0]
	if a.Summary != "scanner edge-1 stopped sending heartbeats" || a.Severity != SeverityMajor {
		t.Fatalf("alarm: %+v", a)
	}
	run()
	apptest.WaitFor(t, 40*time.Second, "the alarm to resolve", func() bool {
		return f.alarms("rule=scanner.heartbeat.lost")[0].State == StateResolved
	})
}

// A scanner whose heartbeat says 950 of its 1000 file descriptors are open is under pressure
// (fd_percent 90); its next heartbeat at 100 of 1000 resolves the alarm.
func TestAScannerNearItsFDLimitRaisesResourcePressure(t *testing.T) {
	f := newFixtureRoles(t, "manager,ingest")
	var tok struct{ Secret string }
	f.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": "edge-1"}).JSON(t, &tok)
	sc := scannerstest.Scanner(t, f.srv.URL, scannerstest.Register(t, f.srv.URL, tok.Secret, "edge-1").APIKey)
	chk := newChecker(f.svc, f.srv.App.Events)
	beat := func(open int) {
		t.Helper()
		hb := scannerstest.Heartbeat(1, 1)
		m := hb["metrics"].(map[string]any)
		m["fd_open"], m["fd_limit"] = open, 1000
		if r := sc.Post("/scanner/v1/heartbeat", hb); r.Status != http.StatusOK {
			t.Fatalf("heartbeat: %d %s", r.Status, r.Body)
		}
		if err := chk.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	beat(100)
	if a := f.alarms("rule=scanner.resource.pressure"); len(a) != 0 {
		t.Fatalf("10%% of the fd limit raised: %+v", a)
	}
	beat(950)
	apptest.WaitFor(t, 10*time.Second, "the pressure alarm", func() bool {
		return len(f.alarms("rule=scanner.resource.pressure&state=open")) == 1
	})
	if a := f.alarms("rule=scanner.resource.pressure")[0]; !strings.Contains(a.Summary, "file descriptors 95%") {
		t.Fatalf("alarm does not say why: %+v", a)
	}
	beat(100)
	apptest.WaitFor(t, 10*time.Second, "the alarm to resolve", func() bool {
		return f.alarms("rule=scanner.resource.pressure")[0].State == StateResolved
	})
}

// With the only dispatcher process killed, no process holds the dispatcher lock: after the
// grace time the no-active-dispatcher alarm opens, and a new dispatcher resolves it.
func TestKillingTheDispatcherRaisesNoActiveDispatcher(t *testing.T) {
	f := newFixture(t)
	bin := apptest.Binaries(t)
	env := []string{"MIPO_CONFIG_DSN=" + f.srv.DBs.DSN("config"), "MIPO_RESULTS_DSN=" + f.srv.DBs.DSN("results"),
		"MIPO_JOBS_DSN=" + f.srv.DBs.DSN("jobs"), "MIPO_TLS=off", "MIPO_SECRET_KEY=" + f.srv.App.Config.Value("MIPO_SECRET_KEY")}
	start := func() *apptest.Process {
		return apptest.StartProcess(t, filepath.Join(bin, "mipo"), env, "serve", "--role=dispatcher", "--listen", "127.0.0.1:0",
			"--data-dir", t.TempDir())
	}
	chk := newChecker(f.svc, f.srv.App.Events)
	check := func() {
		if err := chk.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	d := start()
	apptest.WaitFor(t, 30*time.Second, "the dispatcher to lead", func() bool {
		held, _ := app.LeaderActive(t.Context(), f.svc.DB.Jobs.Pool(), "dispatcher")
		return held
	})
	check()
	f.clock.Advance(time.Minute)
	check()
	if a := f.alarms("rule=dispatcher.none.active"); len(a) != 0 {
		t.Fatalf("a leading dispatcher raised: %+v", a)
	}
	d.Cmd.Process.Kill()
	<-d.Exited()
	apptest.WaitFor(t, 10*time.Second, "the lock to go", func() bool {
		held, _ := app.LeaderActive(t.Context(), f.svc.DB.Jobs.Pool(), "dispatcher")
		return !held
	})
	check() // absent from now
	f.clock.Advance(10 * time.Second)
	check() // within the 30-second grace
	if a := f.alarms("rule=dispatcher.none.active"); len(a) != 0 {
		t.Fatalf("raised within the grace time: %+v", a)
	}
	f.clock.Advance(25 * time.Second)
	check()
	apptest.WaitFor(t, 10*time.Second, "the alarm", func() bool {
		a := f.alarms("rule=dispatcher.none.active&state=open")
		return len(a) == 1 && a[0].Severity == SeverityCritical
	})
	start()
	apptest.WaitFor(t, 30*time.Second, "a new dispatcher to lead and the alarm to resolve", func() bool {
		check()
		a := f.alarms("rule=dispatcher.none.active")
		return len(a) == 1 && a[0].State == StateResolved
	})
}

// The jobs database on a cluster of its own: stopping that cluster opens the jobs-unreachable
// alarm (applied straight to the rules, as the event bus lives in that very database), and
// starting it again resolves it.
func TestStoppingTheJobsClusterRaisesJobsUnreachable(t *testing.T) {
	pg, sep := apptest.Databases(t).SeparateJobsCluster(t)
	split, ctx := sep.Databases, context.Background()
	svc := NewService(split, app.SystemClock{}, apptest.Logger(t))
	bus := &app.Bus{}
	chk := newChecker(svc, bus)
	open := func() []string {
		var keys []string
		rows, _ := split.Config.Query(ctx, `SELECT key FROM alarms WHERE state = 'open' AND rule_id LIKE 'database.%'`)
		for rows.Next() {
			var k string
			rows.Scan(&k)
			keys = append(keys, k)
		}
		return keys
	}
	chk.databases(ctx, map[string]map[string]float64{"database.pool.saturated": {"percent": 90}})
	if o := open(); len(o) != 0 {
		t.Fatalf("healthy databases raised: %v", o)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	chk.databases(ctx, map[string]map[string]float64{"database.pool.saturated": {"percent": 90}})
	if o := open(); len(o) != 1 || o[0] != "database.jobs.unreachable:jobs" {
		t.Fatalf("want the jobs-unreachable alarm, got %v", o)
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 20*time.Second, "the alarm to resolve", func() bool {
		chk.databases(ctx, map[string]map[string]float64{"database.pool.saturated": {"percent": 90}})
		return len(open()) == 0
	})
	var n int
	svc.DB.Config.QueryRow(ctx, `SELECT count(*) FROM alarm_transitions`).Scan(&n)
	if n != 2 {
		t.Fatalf("want opened and resolved, got %d transitions", n)
	}
}
