package scans

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	_ "mipo/modules/config"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	_ "mipo/modules/ingest"
	"mipo/modules/jobs"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/scanners"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// fixture is a whole mipo (every role) on test databases with a clock the test moves, and a
// dispatcher whose ticks the test drives (the process's own dispatcher waits an hour between
// ticks, so it never interferes).
type fixture struct {
	t     *testing.T
	srv   *apptest.Server
	owner *apptest.Client
	clock *app.FakeClock
	d     *dispatcher
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, app.NewFakeClock(time.Now().UTC().Truncate(time.Second)), map[string]string{"MIPO_DISPATCH_INTERVAL": "1h"})
}

// newFixtureWith starts mipo with a clock and extra settings (a real clock and a short dispatch
// interval for the end-to-end tests, or MIPO_ROLE to leave the dispatcher to other processes).
func newFixtureWith(t *testing.T, clock app.Clock, extra map[string]string) *fixture {
	t.Helper()
	dbs := apptest.Databases(t)
	flags := map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off",
		"MIPO_SESSION_IDLE": "72h", "MIPO_SESSION_MAX": "72h", // the tests move the clock by hours
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}
	for k, v := range extra {
		flags[k] = v
	}
	cfg, err := app.LoadConfig(flags, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	a := srv.App
	fake, _ := clock.(*app.FakeClock)
	return &fixture{t: t, srv: srv, owner: rbactest.Owner(t, srv), clock: fake,
		d: newDispatcher(deps{ConfigDB: a.DB.ConfigDB(), JobsDB: a.DB.JobsDB(), Clock: a.Clock, Events: a.Events, Log: a.Log}, cfg)}
}

func (f *fixture) tick() { f.d.Tick(context.Background()) }

// create posts an object and returns its id.
func (f *fixture) create(path string, body map[string]any) string {
	f.t.Helper()
	r := f.owner.Post(path, body)
	if r.Status != http.StatusCreated {
		f.t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	var v struct{ ID string }
	r.JSON(f.t, &v)
	return v.ID
}

// scanner registers a scanner through the real ingest protocol and sends its first heartbeat.
type scanner struct {
	id string
	c  *apptest.Client
}

func (f *fixture) scanner(name string, rate int) *scanner {
	f.t.Helper()
	var tok struct{ Secret string }
	r := f.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": name})
	if r.Status != http.StatusCreated {
		f.t.Fatalf("provisioning token: %d %s", r.Status, r.Body)
	}
	r.JSON(f.t, &tok)
	c := apptest.NewClient(f.t, f.srv.URL)
	capacity := map[string]int{"max_concurrency": 100, "max_rate": rate, "fd_limit": 1024}
	r = c.Post("/scanner/v1/register", map[string]any{"token": tok.Secret, "hostname": name, "version": "test", "capacity": capacity})
	if r.Status != http.StatusOK {
		f.t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var reg struct {
		ScannerID string `json:"scanner_id"`
		APIKey    string `json:"api_key"`
	}
	r.JSON(f.t, &reg)
	c.Header.Set("Authorization", "Bearer "+reg.APIKey)
	s := &scanner{id: reg.ScannerID, c: c}
	s.heartbeat(f.t, capacity)
	return s
}

func (s *scanner) heartbeat(t *testing.T, capacity map[string]int) {
	t.Helper()
	if r := s.c.Post("/scanner/v1/heartbeat", map[string]any{"version": "test", "hostname": "h", "capacity": capacity, "metrics": map[string]any{}, "active_jobs": []string{}}); r.Status != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", r.Status, r.Body)
	}
}

type wireJob struct {
	Job struct {
		ID      string
		Targets []struct{ First, Last string }
	}
}

func (s *scanner) lease(t *testing.T) *wireJob {
	t.Helper()
	r := s.c.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0})
	if r.Status == http.StatusNoContent {
		return nil
	}
	if r.Status != http.StatusOK {
		t.Fatalf("lease: %d %s", r.Status, r.Body)
	}
	var j wireJob
	r.JSON(t, &j)
	return &j
}

func (s *scanner) progress(t *testing.T, job string, hosts, ports int) int {
	return s.c.Post("/scanner/v1/jobs/"+job+"/progress", map[string]int{"hosts_done": hosts, "ports_probed": ports}).Status
}

// finish reports open ports (address:port strings) in one batch and completes the job.
func (s *scanner) finish(t *testing.T, job string, open ...string) {
	t.Helper()
	var rs []map[string]any
	for _, o := range open {
		i := strings.LastIndex(o, ":")
		var port int
		fmt.Sscan(o[i+1:], &port)
		rs = append(rs, map[string]any{"address": strings.Trim(o[:i], "[]"), "port": port, "observed_at": time.Now().UTC(), "rtt_us": 50})
	}
	batches := 0
	if len(rs) > 0 {
		batches = 1
		if r := s.c.Post("/scanner/v1/jobs/"+job+"/results", map[string]any{"batch": 1, "results": rs}); r.Status != http.StatusOK {
			t.Fatalf("results: %d %s", r.Status, r.Body)
		}
	}
	if r := s.c.Post("/scanner/v1/jobs/"+job+"/complete", map[string]any{"status": "done", "batches": batches}); r.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
}

// template makes a template over cidrs and ports for the given scanners (pool) or groups (vantage).
func (f *fixture) template(name, cidrs, ports string, mode string, ids ...string) string {
	var subnets []string
	for i, c := range strings.Split(cidrs, ",") {
		subnets = append(subnets, f.create("/api/v1/subnets", map[string]any{"name": fmt.Sprintf("%s-net-%d", name, i), "cidr": c}))
	}
	list := f.create("/api/v1/port-lists", map[string]any{"name": name + "-ports", "ports": ports})
	scanners := map[string]any{"mode": mode, "scanner_ids": ids}
	if mode == "vantage" {
		scanners = map[string]any{"mode": mode, "scanner_group_ids": ids}
	}
	return f.create("/api/v1/templates", map[string]any{"name": name, "subnets": subnets, "port_lists": []string{list}, "scanners": scanners,
		"timing": map[string]any{"rate_limit": 0, "timeout_ms": 500, "retries": 1, "max_duration_seconds": 600}})
}

func (f *fixture) launch(body map[string]any) []*Scan {
	f.t.Helper()
	r := f.owner.Post("/api/v1/scans", body)
	if r.Status != http.StatusCreated {
		f.t.Fatalf("launch: %d %s", r.Status, r.Body)
	}
	var l Launched
	r.JSON(f.t, &l)
	return l.Items
}

func (f *fixture) detail(id string) Detail {
	var d Detail
	f.owner.Get("/api/v1/scans/"+id).JSON(f.t, &d)
	return d
}

func (f *fixture) events(typ string) int {
	var n int
	f.srv.DBs.Jobs.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = $1`, typ).Scan(&n)
	return n
}

func TestLaunchFreezesTheScopeThenDispatchProgressAndCompletion(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	tmpl := f.template("web", "127.0.0.0/30", "22,80,443", "pool", a.id)
	scans := f.launch(map[string]any{"template_id": tmpl})
	if len(scans) != 1 || scans[0].Status != Pending || scans[0].Addresses != "4" || scans[0].Probes != "12" {
		t.Fatalf("launched %+v", scans)
	}
	s := scans[0]
	// The scope is frozen: editing the template now does not change this scan.
	var tpl struct{ Version int }
	f.owner.Get("/api/v1/templates/"+tmpl).JSON(t, &tpl)
	f.owner.Patch("/api/v1/templates/"+tmpl, map[string]any{"timing": map[string]any{"timeout_ms": 900}})
	if d := f.detail(s.ID); d.Scan.TemplateVersion != tpl.Version || d.Scan.Scope.TimeoutMS != 500 {
		t.Fatalf("the scan's scope changed with its template: version %d, timeout %d", d.Scan.TemplateVersion, d.Scan.Scope.TimeoutMS)
	}

	f.tick()
	d := f.detail(s.ID)
	if d.Scan.Status != Running || len(d.Jobs) != 1 || d.Progress.PortsTotal != 12 || d.Progress.Percent != 0 {
		t.Fatalf("after dispatch: %+v %+v", d.Scan, d.Progress)
	}
	job := a.lease(t)
	if job == nil || job.Job.ID != d.Jobs[0].ID {
		t.Fatal("the scanner got no job")
	}
	f.clock.Advance(10 * time.Second)
	a.progress(t, job.Job.ID, 2, 6)
	if p := f.detail(s.ID).Progress; p.Percent != 50 || p.HostsDone != 2 || p.RatePerSecond <= 0 || p.ETA == nil {
		t.Fatalf("progress at half way: %+v", p)
	}
	a.finish(t, job.Job.ID, "127.0.0.1:22", "127.0.0.2:443")
	f.tick()
	d = f.detail(s.ID)
	if d.Scan.Status != Completed || d.Progress.Percent != 100 || d.Scan.Completion != 100 || d.Scan.FinishedAt == nil {
		t.Fatalf("after completion: %+v %+v", d.Scan, d.Progress)
	}
	var obs struct {
		Items []struct{ Address, Service string }
	}
	f.owner.Get("/api/v1/results?scan="+s.ID).JSON(t, &obs)
	if len(obs.Items) != 2 || obs.Items[0].Service == "" {
		t.Fatalf("results of the scan: %+v", obs.Items)
	}
	if f.events("scan.completed") != 1 {
		t.Fatal("no scan.completed event")
	}
	var list struct{ Items []Scan }
	f.owner.Get("/api/v1/scans?status=completed&template="+tmpl+"&scanner="+a.id).JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("filtered scan list: %+v", list.Items)
	}
}

func TestTemplateGroupLaunchesOneScanPerTemplate(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	t1 := f.template("one", "127.0.0.1/32", "22", "pool", a.id)
	t2 := f.template("two", "::1/128", "80", "pool", a.id)
	g := f.create("/api/v1/template-groups", map[string]any{"name": "both", "templates": []string{t1, t2}})
	if scans := f.launch(map[string]any{"template_group_id": g}); len(scans) != 2 || scans[0].TemplateGroupID == nil {
		t.Fatalf("a group launch made %+v", scans)
	}
	if r := f.owner.Post("/api/v1/scans", map[string]any{"template_id": t1, "template_group_id": g}); r.ErrorField() != "template_group_id" {
		t.Fatalf("template and group at once: %d %s", r.Status, r.Body)
	}
}

func TestScopesTooLargeAreRefusedBeforeTheyStart(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	// A template is refused at save past the launch limit (templates_check_test.go); one whose
	// subnets grew after it was saved is refused at launch.
	tmpl := f.template("huge", "10.0.0.0/24,2001:db8::/120", "1-65535", "pool", a.id)
	var tpl struct{ Subnets []string }
	f.owner.Get("/api/v1/templates/"+tmpl).JSON(t, &tpl)
	for i, cidr := range []string{"10.0.0.0/8", "2001:db8::/64"} {
		if r := f.owner.Patch("/api/v1/subnets/"+tpl.Subnets[i], map[string]any{"cidr": cidr}); r.Status != http.StatusOK {
			t.Fatalf("growing the subnet: %d %s", r.Status, r.Body)
		}
	}
	r := f.owner.Post("/api/v1/scans", map[string]any{"template_id": tmpl})
	if r.Status != 422 || r.ErrorCode() != "scope_too_large" || !strings.Contains(string(r.Body), "18446744073726328832 addresses") {
		t.Fatalf("an oversize scope: %d %s", r.Status, r.Body)
	}
	var n int
	f.srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM scans`).Scan(&n)
	if n != 0 {
		t.Fatal("a refused scan was recorded")
	}
}

// A pool job whose scanner goes silent is re-queued for another scanner of the pool; the
// stalled scanner's late reports are refused; completion announces the recovery.
func TestStalledJobIsRequeuedToAnotherScannerAndRecovers(t *testing.T) {
	f := newFixture(t)
	a, b := f.scanner("scanner-a", 1000), f.scanner("scanner-b", 1000)
	tmpl := f.template("stall", "127.0.0.1/32", "1-10", "pool", a.id, b.id)
	s := f.launch(map[string]any{"template_id": tmpl})[0]
	f.tick()
	job := a.lease(t)
	a.progress(t, job.Job.ID, 0, 3)
	f.clock.Advance(60 * time.Second)
	f.tick()
	if f.events("job.stalled") != 0 {
		t.Fatal("a job stalled inside its window")
	}
	f.clock.Advance(60 * time.Second) // 120 s without progress > 90 s
	a.heartbeat(t, map[string]int{"max_rate": 1000})
	b.heartbeat(t, map[string]int{"max_rate": 1000})
	f.tick()
	if f.events("job.stalled") != 1 {
		t.Fatal("no job.stalled event")
	}
	if st := a.progress(t, job.Job.ID, 1, 10); st != http.StatusGone {
		t.Fatalf("the stalled scanner's late report answered %d, want 410", st)
	}
	again := b.lease(t)
	if again == nil || again.Job.ID != job.Job.ID {
		t.Fatal("the re-queued job did not go to the other scanner")
	}
	b.finish(t, again.Job.ID, "127.0.0.1:7")
	f.tick()
	if d := f.detail(s.ID); d.Scan.Status != Completed || d.Jobs[0].Attempts != 2 {
		t.Fatalf("after recovery: %+v %+v", d.Scan, d.Jobs[0])
	}
	if f.events("job.recovered") != 1 {
		t.Fatal("no job.recovered event")
	}
}

// A stalled job whose scan the config database does not hold (restored from before the scan)
// is re-queued like any other, and the stalls step goes on: it used to fail on recording the
// stall, every tick, skipping the rest of the step.
func TestAStalledJobOfAnUnknownScanDoesNotStopTheStallsStep(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("orphan-a", 1000)
	targets, _ := netset.Parse("127.0.0.1")
	ctx := context.Background()
	ids, err := jobs.Create(ctx, f.srv.App.DB.Jobs, f.clock.Now(), jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindPool,
		Pool: []string{a.id}, Seq: 1, Targets: targets, Ports: portset.MustParse("1-10"), TimeoutMS: 500})
	if err != nil {
		t.Fatal(err)
	}
	if job := a.lease(t); job == nil || job.Job.ID != ids[0] {
		t.Fatal("the orphan job was not leased")
	}
	f.clock.Advance(120 * time.Second)
	a.heartbeat(t, map[string]int{"max_rate": 1000})
	if err := f.d.reconcileStalls(app.WithPrincipal(ctx, app.System("dispatcher"))); err != nil {
		t.Fatalf("the stalls step failed: %v", err)
	}
	if again := a.lease(t); again == nil || again.Job.ID != ids[0] {
		t.Fatal("the orphan job was not re-queued")
	}
}

// A vantage job waits for its own scanner, and fails after its tries; the scan still completes
// with the other scanner's results, and the failure is marked.
func TestVantageJobFailsAfterItsTries(t *testing.T) {
	f := newFixture(t)
	a, b := f.scanner("vantage-a", 1000), f.scanner("vantage-b", 1000)
	g := f.create("/api/v1/scanner-groups", map[string]any{"name": "dmz", "scanner_ids": []string{a.id, b.id}})
	tmpl := f.template("both-views", "127.0.0.1/32", "22", "vantage", g)
	s := f.launch(map[string]any{"template_id": tmpl})[0]
	f.tick()
	if d := f.detail(s.ID); len(d.Jobs) != 2 || d.Scan.Mode != "vantage" {
		t.Fatalf("a vantage scan over two scanners: %+v", d.Jobs)
	}
	ja := a.lease(t)
	a.finish(t, ja.Job.ID, "127.0.0.1:22")
	for attempt := 1; attempt <= 3; attempt++ {
		jb := b.lease(t)
		if jb == nil {
			t.Fatalf("attempt %d: the vantage job did not come back to its scanner", attempt)
		}
		f.clock.Advance(2 * time.Minute)
		a.heartbeat(t, map[string]int{"max_rate": 1000})
		b.heartbeat(t, map[string]int{"max_rate": 1000})
		f.tick()
	}
	d := f.detail(s.ID)
	if d.Scan.Status != Completed || d.Scan.JobsFailed != 1 || !strings.Contains(d.Scan.StatusDetail, "1 of 2 jobs failed") {
		t.Fatalf("scan after the vantage job's tries: %+v", d.Scan)
	}
	partial := 0
	for _, j := range d.Jobs {
		if j.Partial {
			partial++
		}
	}
	if partial != 1 {
		t.Fatalf("the failed job is not marked partial: %+v", d.Jobs)
	}
}

func TestCancelStopsQueuedAndRunningJobs(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 10) // slow: the scope is cut into several batches
	tmpl := f.template("cancel-me", "127.0.0.0/24", "1-100", "pool", a.id)
	s := f.launch(map[string]any{"template_id": tmpl})[0]
	f.tick()
	job := a.lease(t)
	if r := f.owner.Post("/api/v1/scans/"+s.ID+"/cancel", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	var cancel struct{ Cancel bool }
	a.c.Post("/scanner/v1/jobs/"+job.Job.ID+"/progress", map[string]int{"hosts_done": 1}).JSON(t, &cancel)
	if !cancel.Cancel {
		t.Fatal("the running job was not told to stop")
	}
	if j := a.lease(t); j != nil {
		t.Fatal("a queued job of a cancelled scan was leased")
	}
	if r := f.owner.Post("/api/v1/scans/"+s.ID+"/cancel", nil); r.Status != http.StatusConflict {
		t.Fatalf("cancelling twice: %d", r.Status)
	}
	st, _ := jobs.StateOf(context.Background(), f.srv.DBs.Jobs, s.ID)
	if st.Queued != 0 {
		t.Fatalf("queued jobs left: %+v", st)
	}
}

// A schedule whose runs were missed while no dispatcher led launches once on recovery, not once
// per missed slot, and moves its next run past now.
func TestMissedScheduleRunsLaunchOnce(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	tmpl := f.template("nightly", "127.0.0.1/32", "22", "pool", a.id)
	r := f.owner.Post("/api/v1/schedules", map[string]any{"name": "hourly web", "template_id": tmpl,
		"timing": map[string]any{"preset": "hourly", "timezone": "Europe/Berlin", "jitter_seconds": 600}})
	if r.Status != http.StatusCreated {
		t.Fatalf("schedule: %d %s", r.Status, r.Body)
	}
	var sched Schedule
	r.JSON(t, &sched)
	if sched.NextRunAt == nil || len(sched.Upcoming) != 5 || !sched.NextRunAt.After(f.clock.Now()) {
		t.Fatalf("next runs: %+v", sched)
	}
	f.clock.Advance(5 * time.Hour) // five slots missed
	f.tick()
	f.tick()
	var list struct{ Items []Scan }
	f.owner.Get("/api/v1/scans").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ScheduleID == nil || *list.Items[0].ScheduleID != sched.ID {
		t.Fatalf("missed runs launched %d scans, want 1: %+v", len(list.Items), list.Items)
	}
	f.owner.Get("/api/v1/schedules/"+sched.ID).JSON(t, &sched)
	if !sched.NextRunAt.After(f.clock.Now()) || sched.LastRunAt == nil {
		t.Fatalf("the schedule did not move on: %+v", sched)
	}
	for _, bad := range []map[string]any{
		{"name": "x", "template_id": tmpl, "timing": map[string]any{"cron": "0 25 * * *"}},
		{"name": "y", "template_id": tmpl, "timing": map[string]any{"preset": "hourly", "jitter_seconds": 4000}},
		{"name": "z", "template_id": "00000000-0000-4000-8000-000000000000", "timing": map[string]any{"preset": "daily"}},
	} {
		if r := f.owner.Post("/api/v1/schedules", bad); r.Status != 400 {
			t.Errorf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
}

func TestAScheduledTemplateCannotBeDeleted(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	tmpl := f.template("kept", "127.0.0.1/32", "22", "pool", a.id)
	f.create("/api/v1/schedules", map[string]any{"name": "nightly kept", "template_id": tmpl, "timing": map[string]any{"preset": "daily"}})
	r := f.owner.Delete("/api/v1/templates/" + tmpl)
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "schedule nightly kept") {
		t.Fatalf("deleting a scheduled template: %d %s", r.Status, r.Body)
	}
}

func TestAScannerGroupATemplateUsesCannotBeDeleted(t *testing.T) {
	f := newFixture(t)
	g := f.create("/api/v1/scanner-groups", map[string]any{"name": "edge"})
	f.template("edge-view", "127.0.0.1/32", "22", "vantage", g)
	r := f.owner.Delete("/api/v1/scanner-groups/" + g)
	if r.Status != http.StatusConflict || r.ErrorCode() != "in_use" || !strings.Contains(string(r.Body), "edge-view") {
		t.Fatalf("deleting a scanner group a template uses: %d %s", r.Status, r.Body)
	}
}

// A database that goes away under a launch is the server's failure (503 unavailable, with the
// request id), not "no template group with that id", which it used to answer.
func TestADatabaseGoneUnderALaunchIsAServerError(t *testing.T) {
	f := newFixture(t)
	group := "00000000-0000-4000-8000-000000000001"
	if r := f.owner.Post("/api/v1/scans", map[string]any{"template_group_id": group}); r.Status != http.StatusBadRequest || r.ErrorCode() != "unknown_template_group" {
		t.Fatalf("with the database up, an unknown group is the client's 400: %d %s", r.Status, r.Body)
	}
	f.srv.DBs.EndConnectionsReading(t, app.DBConfig, "config_objects")
	if r := f.owner.Post("/api/v1/scans", map[string]any{"template_group_id": group}); r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "unavailable" {
		t.Fatalf("with the database gone, want 503 unavailable, got %d %s", r.Status, r.Body)
	}
}
