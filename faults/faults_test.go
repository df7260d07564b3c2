package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
)

// TestFaults builds the topology once, proves a scan runs end to end through it, then injects
// each fault in turn during a running scan. Every fault is its own subtest and prints one line:
//
//	fault <name>: sent N stored N duplicated N lost N | <timings> | alarms opened N resolved N
//
// sent is what the ingest nodes acknowledged (the results ledger, one row per batch), stored the
// observations the results database holds for the scan, duplicated the observations beyond one
// per open address and port, lost the open listeners the scan did not store.
func TestFaults(t *testing.T) {
	started := time.Now()
	top := startTopology(t)
	t.Logf("topology up in %s: manager, 2 ingest, 2 dispatchers, backup, nginx edge at %s", time.Since(started).Round(time.Second), top.edge)
	a := top.addScanner("loop-a", 400)
	b := top.addScanner("loop-b", 400)
	l := openListeners(t, []string{"127.0.0.2", "127.0.0.3"}, 150, 150)
	f := &faultRun{top: top, l: l, pool: []string{a.id, b.id}}
	f.results = top.dbs.Pool(t, app.DBResults)

	t.Run("EndToEnd", func(t *testing.T) {
		ok := t.Run("UIThroughTheEdge", func(t *testing.T) {
			res, err := insecure.Get(top.edge + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			buf := make([]byte, 64<<10)
			n, _ := res.Body.Read(buf)
			if res.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(buf[:n])), "<!doctype html") {
				t.Fatalf("the UI's index through the edge: %d %q", res.StatusCode, buf[:min(n, 200)])
			}
		})
		if !ok {
			t.Error("the UI's index did not load through the edge")
		}
		f.scan(t, "end-to-end", 0, func(t *testing.T, scanID string) string { return "no fault" })
	})

	t.Run("KillIngest", func(t *testing.T) {
		kills := envInt("MIPO_FAULTS_INGEST_KILLS", 20)
		budget := envDuration("MIPO_FAULTS_INGEST_BUDGET", 150*time.Second)
		f.scan(t, "kill -9 ingest", 3, func(t *testing.T, scanID string) string {
			deadline := time.Now().Add(budget)
			done, down := 0, time.Duration(0)
			for done < kills && time.Now().Before(deadline) && !f.ended(scanID) {
				n := top.ingest[rand.IntN(2)]
				time.Sleep(time.Duration(200+rand.IntN(1800)) * time.Millisecond) // a random point in the stream
				top.kill(n)
				killed := time.Now()
				time.Sleep(time.Duration(rand.IntN(1000)) * time.Millisecond)
				top.start(n)
				down += time.Since(killed)
				done++
			}
			if done < kills {
				t.Logf("kill -9 ingest: %d of %d kills before the scan ended or the %s budget ran out", done, kills, budget)
			}
			if done == 0 {
				t.Error("no ingest node was killed during the scan")
			}
			return fmt.Sprintf("%d kills, each node back in %s on average", done, (down / time.Duration(max(done, 1))).Round(10*time.Millisecond))
		})
	})

	t.Run("KillLeadingDispatcher", func(t *testing.T) {
		f.scan(t, "kill -9 leading dispatcher", 20, func(t *testing.T, scanID string) string {
			before := f.alarms(t)
			defer f.expectNoAlarm(t, before, "dispatcher.none.active", "the standby took the lock within the grace time")
			var leader *node
			apptest.WaitFor(t, 30*time.Second, "a dispatcher to lead", func() bool { leader = top.leader(); return leader != nil })
			top.kill(leader)
			killed := time.Now()
			var next *node
			apptest.WaitFor(t, 30*time.Second, "the standby to take over", func() bool { next = top.leader(); return next != nil })
			took := time.Since(killed)
			top.start(leader) // back as the standby
			if top.leader() != next {
				t.Error("the restarted dispatcher took the lead from the one that holds it")
			}
			return fmt.Sprintf("%s leads %s after %s was killed", next.name, took.Round(10*time.Millisecond), leader.name)
		})
	})

	t.Run("KillScanner", func(t *testing.T) {
		f.scan(t, "kill -9 scanner", 20, func(t *testing.T, scanID string) string {
			before := f.alarms(t)
			defer f.expectNoAlarm(t, before, "scanner.heartbeat.lost", "the scanner was back within its offline window")
			s := top.scanners[rand.IntN(len(top.scanners))]
			s.p.Cmd.Process.Kill() // by the PID this test started
			<-s.p.Exited()
			killed := time.Now()
			time.Sleep(2 * time.Second)
			top.run(s)
			return fmt.Sprintf("%s killed and restarted after %s", s.name, time.Since(killed).Round(10*time.Millisecond))
		})
	})

	t.Run("JobsDatabaseDown", func(t *testing.T) {
		outage := envDuration("MIPO_FAULTS_DB_OUTAGE", 60*time.Second)
		jobsDB := top.dbs.Names[app.DBJobs]
		super, err := pgx.Connect(context.Background(), apptest.SuperuserDSN("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer super.Close(context.Background())
		f.scan(t, "jobs database down", 20, func(t *testing.T, scanID string) string {
			ctx := context.Background()
			ident := pgx.Identifier{jobsDB}.Sanitize()
			const rule = "database.jobs.unreachable"
			before, opened := f.alarms(t), ""
			// The jobs database refuses every connection and loses the ones it had: to every
			// process it is down, while config and results (same cluster) keep answering.
			if _, err := super.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS false"); err != nil {
				t.Fatal(err)
			}
			down := time.Now()
			end := down.Add(outage)
			for time.Now().Before(end) {
				super.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, jobsDB)
				if opened == "" {
					opened = f.openedSince(before, rule)
				}
				time.Sleep(time.Second)
			}
			if _, err := super.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS true"); err != nil {
				t.Fatal(err)
			}
			for _, n := range []*node{top.manager, top.ingest[0], top.ingest[1], top.dispatcher[0], top.dispatcher[1], top.backup} {
				if !n.p.Running() {
					t.Errorf("%s exited while the jobs database was down: %v", n.name, n.p.Err())
				}
			}
			if opened == "" {
				t.Errorf("no %s alarm opened during the %s outage", rule, outage)
				return fmt.Sprintf("jobs database refused connections for %s, no alarm", time.Since(down).Round(time.Second))
			}
			back := f.expectResolved(t, opened, rule, 60*time.Second)
			return fmt.Sprintf("jobs database refused connections for %s, %s resolved %s after", time.Since(down).Round(time.Second), rule, back.Round(time.Second))
		})
	})

	t.Run("EdgeFails", func(t *testing.T) {
		outage := envDuration("MIPO_FAULTS_EDGE_OUTAGE", 30*time.Second)
		f.scan(t, "edge 502 then resets", 20, func(t *testing.T, scanID string) string {
			before := f.alarms(t)
			defer f.expectNoAlarm(t, before, "scanner.heartbeat.lost", "the edge was back within the scanners' offline window")
			// First half: the ingest pair is unreachable from nginx, which answers 502.
			top.upstream[0].Reset(true)
			top.upstream[1].Reset(true)
			start := time.Now()
			res, err := insecure.Post(top.edge+"/scanner/v1/heartbeat", "application/json", strings.NewReader("{}"))
			if err != nil || res.StatusCode != http.StatusBadGateway {
				t.Errorf("the edge during the upstream fault: %v %v, want 502", err, res)
			}
			if res != nil {
				res.Body.Close()
			}
			time.Sleep(outage / 2)
			top.upstream[0].Reset(false)
			top.upstream[1].Reset(false)
			// Second half: the scanners' own connections to the edge are reset.
			top.front.Reset(true)
			time.Sleep(outage / 2)
			top.front.Reset(false)
			return fmt.Sprintf("502 for %s, then %d connections reset, %s in all", (outage / 2).Round(time.Second),
				top.front.resets.Load(), time.Since(start).Round(time.Second))
		})
	})

	t.Run("AuditFailsClosed", func(t *testing.T) { f.auditFailsClosed(t) })

	t.Run("RestartDrill", func(t *testing.T) {
		f.scan(t, "restart each mipo process", 15, func(t *testing.T, scanID string) string {
			// As an upgrade would: every process stopped and started again, one at a time, the
			// next only once the last answers, with the edge reloading its configuration too.
			var took []string
			for _, n := range []*node{top.ingest[0], top.ingest[1], top.dispatcher[0], top.dispatcher[1], top.manager, top.backup} {
				start := time.Now()
				top.stop(n)
				top.start(n)
				took = append(took, fmt.Sprintf("%s %s", n.name, time.Since(start).Round(100*time.Millisecond)))
			}
			if err := top.nginx.Process.Signal(syscall.SIGHUP); err != nil {
				t.Errorf("reloading nginx: %v", err)
			}
			took = append(took, "nginx reloaded")
			return "restarted " + strings.Join(took, ", ")
		})
	})
	t.Run("RestartScanners", func(t *testing.T) {
		// A scanner stopped on purpose leaves its running job leased (its spool keeps what it
		// could not send); ingest hands the job out again once it stalls, to the restarted
		// scanner, and the scan completes with nothing lost.
		f.scan(t, "restart each scanner", 15, func(t *testing.T, scanID string) string {
			var took []string
			for _, s := range top.scanners {
				start := time.Now()
				s.p.Cmd.Process.Signal(syscall.SIGTERM)
				<-s.p.Exited()
				top.run(s)
				took = append(took, fmt.Sprintf("%s %s", s.name, time.Since(start).Round(100*time.Millisecond)))
			}
			return "restarted " + strings.Join(took, ", ")
		})
	})

	t.Run("ScannerClockSkew", func(t *testing.T) { f.clockSkew(t) })
	t.Logf("the suite took %s", time.Since(started).Round(time.Second))
}

// faultRun is what the faults share: the topology, the listeners and the scanner pool.
type faultRun struct {
	top     *topology
	l       *listeners
	pool    []string
	results interface {
		QueryRow(context.Context, string, ...any) pgx.Row
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}
	seq int
}

type scanDetail struct {
	Scan struct {
		ID, Status   string
		StatusDetail string `json:"status_detail"`
		JobsFailed   int    `json:"jobs_failed"`
	}
	Progress struct {
		Percent   float64
		JobsTotal int `json:"jobs_total"`
		JobsDone  int `json:"jobs_done"`
	}
	Jobs []struct {
		Status, Error string
		Attempts      int
		Partial       bool
	}
}

func (f *faultRun) detail(t *testing.T, id string) (d scanDetail, ok bool) {
	// A scan's page is read through the edge, which some faults break on purpose.
	c := f.top.client()
	c.Header = f.top.owner.Header
	c.HTTP.Jar = f.top.owner.HTTP.Jar
	req, _ := http.NewRequest(http.MethodGet, f.top.edge+"/api/v1/scans/"+id, nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		return d, false
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return d, false
	}
	body, err := io.ReadAll(res.Body)
	if err != nil || json.Unmarshal(body, &d) != nil {
		return d, false
	}
	return d, true
}

func (f *faultRun) ended(id string) bool {
	d, ok := f.detail(f.top.t, id)
	return ok && d.Scan.Status != "pending" && d.Scan.Status != "running"
}

// scan launches one scan of the listeners through the edge at rate connection attempts per
// second per scanner (0: as fast as the scanners go), waits until results are streaming, runs
// the fault, waits for the scan to end, and counts it against the listeners' truth: every fault
// must end in a completed scan with nothing lost or stored twice.
func (f *faultRun) scan(t *testing.T, name string, rate int, fault func(t *testing.T, scanID string) string) {
	top := f.top
	f.seq++
	alarmsBefore := f.alarms(t)
	tmpl := f.template(t, fmt.Sprintf("faults-%d", f.seq), rate)
	r := top.owner.Post("/api/v1/scans", map[string]any{"template_id": tmpl})
	if r.Status != http.StatusCreated {
		t.Fatalf("launch: %d %s", r.Status, r.Body)
	}
	var launched struct{ Items []struct{ ID string } }
	r.JSON(t, &launched)
	scanID := launched.Items[0].ID
	launchedAt := time.Now()
	apptest.WaitFor(t, 60*time.Second, "results streaming", func() bool { return f.count(t, `SELECT count(*) FROM observations WHERE scan_id = $1`, scanID) > 0 })
	streaming := time.Since(launchedAt)
	faultAt := time.Now()
	what := fault(t, scanID)
	faultTook := time.Since(faultAt)
	recovered := time.Now()
	var d scanDetail
	apptest.WaitFor(t, 4*time.Minute, "the scan to end", func() bool {
		var ok bool
		d, ok = f.detail(t, scanID)
		return ok && d.Scan.Status != "pending" && d.Scan.Status != "running"
	})
	endAfter := time.Since(recovered)

	truth := f.l.truth()
	sent := f.count(t, `SELECT COALESCE(sum(results), 0) FROM result_batches WHERE scan_id = $1`, scanID)
	stored := f.count(t, `SELECT count(*) FROM observations WHERE scan_id = $1`, scanID)
	rows, err := f.results.Query(context.Background(), `SELECT host(address) || '/' || port, count(*) FROM observations WHERE scan_id = $1 GROUP BY 1`, scanID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		seen[k] = n
	}
	rows.Close()
	duplicated, lost := 0, 0
	var extra, missing []string
	for k, n := range seen {
		duplicated += n - 1
		if !truth[k] {
			extra = append(extra, k)
		}
	}
	for k := range truth {
		if seen[k] == 0 {
			lost++
			if len(missing) < 5 {
				missing = append(missing, k)
			}
		}
	}
	opened, resolved := f.alarmChanges(t, alarmsBefore)
	outcome := d.Scan.Status
	partial := d.Scan.Status == "completed" && d.Scan.JobsFailed > 0
	if partial {
		outcome = "partial (" + d.Scan.StatusDetail + ")"
	}
	line := fmt.Sprintf("fault %-28s sent %4d stored %4d duplicated %d lost %d of %d | %s | streaming %s after launch, fault %s, scan %s %s later | alarms opened %d resolved %d",
		name+":", sent, stored, duplicated, lost, len(truth), what, streaming.Round(100*time.Millisecond), faultTook.Round(100*time.Millisecond),
		outcome, endAfter.Round(100*time.Millisecond), len(opened), len(resolved))
	fmt.Println(line)
	t.Log(line)
	if len(opened) > 0 {
		t.Logf("alarms opened: %s", strings.Join(opened, "; "))
	}

	complete := d.Scan.Status == "completed" && !partial
	if !complete {
		if strings.TrimSpace(d.Scan.StatusDetail) == "" {
			t.Errorf("the scan ended %s without a reason", d.Scan.Status)
		}
		for _, j := range d.Jobs {
			if j.Partial && j.Error == "" {
				t.Errorf("a %s job has no reason", j.Status)
			}
			if j.Partial {
				t.Logf("job %s after %d attempts: %s", j.Status, j.Attempts, j.Error)
			}
		}
		t.Errorf("the scan ended %s (%s) with %d open ports lost, e.g. %v", outcome, d.Scan.Status, lost, missing)
	} else if lost != 0 {
		t.Errorf("%d open ports lost from a completed scan, e.g. %v", lost, missing)
	}
	if duplicated != 0 {
		t.Errorf("%d observations stored twice", duplicated)
	}
	if len(extra) > 0 {
		t.Errorf("stored ports no listener holds: %v", extra)
	}
	if sent != stored {
		t.Errorf("the ledger acknowledged %d results but %d are stored", sent, stored)
	}
}

// template makes a pool template over the listeners' addresses and ports.
func (f *faultRun) template(t *testing.T, name string, rate int) string {
	return f.templateFor(t, name, rate, f.pool)
}

// templateFor makes a template over the listeners for a pool of scanners.
func (f *faultRun) templateFor(t *testing.T, name string, rate int, pool []string) string {
	create := func(path string, body map[string]any) string {
		r := f.top.owner.Post(path, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		var v struct{ ID string }
		r.JSON(t, &v)
		return v.ID
	}
	var subnets []string
	for i, a := range f.l.addrs {
		subnets = append(subnets, create("/api/v1/subnets", map[string]any{"name": fmt.Sprintf("%s-net-%d", name, i), "cidr": a + "/32"}))
	}
	list := create("/api/v1/port-lists", map[string]any{"name": name + "-ports", "ports": f.l.portList()})
	return create("/api/v1/templates", map[string]any{"name": name, "subnets": subnets, "port_lists": []string{list},
		"scanners": map[string]any{"mode": "pool", "scanner_ids": pool},
		"timing":   map[string]any{"rate_limit": rate, "timeout_ms": 1000, "retries": 1, "max_duration_seconds": 900}})
}

func (f *faultRun) count(t *testing.T, q string, args ...any) int {
	var n int
	if err := f.results.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type alarm struct {
	ID, State, Summary string
	RuleID             string `json:"rule_id"`
}

func (f *faultRun) alarms(t *testing.T) map[string]alarm {
	var page struct{ Items []alarm }
	r := f.top.owner.Get("/api/v1/alarms?limit=500")
	if r.Status != http.StatusOK {
		t.Fatalf("alarms: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &page)
	out := map[string]alarm{}
	for _, a := range page.Items {
		out[a.ID] = a
	}
	return out
}

// alarmChanges lists the alarms opened since before, and those resolved since.
func (f *faultRun) alarmChanges(t *testing.T, before map[string]alarm) (opened, resolved []string) {
	for id, a := range f.alarms(t) {
		was, existed := before[id]
		if !existed {
			opened = append(opened, a.RuleID+": "+a.Summary+" ("+a.State+")")
		}
		if a.State == "resolved" && (!existed || was.State != "resolved") {
			resolved = append(resolved, a.RuleID)
		}
	}
	return opened, resolved
}

// auditFailsClosed: with the audit log refusing inserts (a trigger that raises, as a full
// tablespace or a lock timeout would), a change is answered 503 and changes nothing.
func (f *faultRun) auditFailsClosed(t *testing.T) {
	ctx := context.Background()
	super, err := pgx.Connect(ctx, apptest.SuperuserDSN(f.top.dbs.Names[app.DBConfig]))
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(ctx)
	subnets := func() int {
		var page struct{ Items []struct{ ID string } }
		f.top.owner.Get("/api/v1/subnets?limit=500").JSON(t, &page)
		return len(page.Items)
	}
	before := subnets()
	if _, err := super.Exec(ctx, `
		CREATE FUNCTION faults_audit_full() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$;
		CREATE TRIGGER faults_audit_full BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION faults_audit_full();`); err != nil {
		t.Fatal(err)
	}
	dropped := false
	drop := func() {
		if !dropped {
			dropped = true
			if _, err := super.Exec(ctx, `DROP TRIGGER faults_audit_full ON audit_log; DROP FUNCTION faults_audit_full();`); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer drop()
	r := f.top.owner.Post("/api/v1/subnets", map[string]any{"name": "audit-full", "cidr": "127.0.9.0/24"})
	drop()
	after := subnets()
	line := fmt.Sprintf("fault %-28s change answered %d %s, subnets %d before and %d after", "audit log refuses inserts:", r.Status, r.ErrorCode(), before, after)
	fmt.Println(line)
	t.Log(line)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("a change while the audit log refuses inserts: %d %s, want 503", r.Status, r.Body)
	}
	if after != before {
		t.Errorf("the change was made without its audit record: %d subnets, was %d", after, before)
	}
	if strings.Contains(string(r.Body), "No space left") || strings.Contains(string(r.Body), "audit_log") {
		t.Errorf("the 503 leaks the database's message: %s", r.Body)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
