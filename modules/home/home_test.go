package home_test

import (
	"context"
	"flag"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	_ "mipo/modules/config"
	_ "mipo/modules/home"
	_ "mipo/modules/ingest"
	_ "mipo/modules/jobs" // fills in jobsapi
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/results"
	_ "mipo/modules/scanners"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// rows is how many observations the benchmark generates; the target is 10,000,000:
//
//	go test ./modules/home/ -run '^$' -bench BenchmarkHome -benchtime 20x -home.rows 10000000
var rows = flag.Int("home.rows", 100_000, "observations the home benchmark generates")

type env struct {
	srv   *apptest.Server
	owner *apptest.Client
	now   time.Time
}

func start(t testing.TB) *env {
	t.Helper()
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_DISPATCH_INTERVAL": "1h",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := apptest.Start(t, cfg, dbs, app.Options{})
	return &env{srv: srv, owner: rbactest.Owner(t, srv), now: time.Now().UTC()}
}

// seed writes the state straight into each module's tables, as the modules would have: n
// scanners (a tenth offline), templates×perTemplate completed scans with their outcomes, a
// running scan, schedules, and observations rows spread over the scans.
func (e *env) seed(t testing.TB, scanners, templates, perTemplate, observations int) {
	t.Helper()
	ctx := context.Background()
	cfg, res := e.srv.DBs.Config, e.srv.DBs.Results
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cfg.Exec(ctx, `INSERT INTO scanners (id, name, key_lookup, key_hash, key_created_at, binding, online, registered_at, updated_at)
		SELECT gen_random_uuid(), 'scanner-' || g, 'lookup-' || g, '\x00', now(), '127.0.0.0/8', g % 10 <> 0, now(), now()
		FROM generate_series(1, $1) g`, scanners))
	must(cfg.Exec(ctx, `INSERT INTO scans (id, template_id, template_name, template_version, scope, mode, status, addresses, ports, probes,
		launched_by, created_at, started_at, finished_at, completion)
		SELECT gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(to_hex(t), 12, '0'))::uuid, 'template-' || t, 1, '{}', 'pool', 'completed',
		       256, 100, 25600, 'owner', $3::timestamptz - s * interval '1 hour', $3::timestamptz - s * interval '1 hour', $3::timestamptz - s * interval '1 hour' + interval '5 minutes', 100
		FROM generate_series(1, $1) t, generate_series(1, $2) s`, templates, perTemplate, e.now))
	must(cfg.Exec(ctx, `INSERT INTO scans (id, template_id, template_name, template_version, scope, mode, status, addresses, ports, probes, launched_by, created_at, started_at)
		VALUES (gen_random_uuid(), gen_random_uuid(), 'running-now', 1, '{}', 'pool', 'running', 1, 1, 1, 'owner', now(), now())`))
	must(cfg.Exec(ctx, `INSERT INTO schedules (id, name, template_id, timing, enabled, next_run_at, created_at, updated_at)
		SELECT gen_random_uuid(), 'nightly-' || g, gen_random_uuid(), '{}', true, now() + g * interval '1 hour', now(), now() FROM generate_series(1, 20) g`))
	// Each completed scan's outcome, as the results module records it on scan.completed.
	rows, err := cfg.Query(ctx, `SELECT id, template_id, finished_at FROM scans WHERE status = 'completed' ORDER BY template_id, created_at`)
	if err != nil {
		t.Fatal(err)
	}
	type sc struct {
		id, tmpl string
		at       time.Time
	}
	var all []sc
	for rows.Next() {
		var s sc
		if err := rows.Scan(&s.id, &s.tmpl, &s.at); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	rows.Close()
	ids := make([]string, len(all))
	for i, s := range all {
		ids[i] = s.id
		var prev *string
		if i > 0 && all[i-1].tmpl == s.tmpl {
			prev = &all[i-1].id
		}
		if prev == nil {
			must(res.Exec(ctx, `INSERT INTO scan_outcomes (scan_id, template_id, finished_at, open_ports, sample, computed_at) VALUES ($1, $2, $3, 1000, '{}', now())`, s.id, s.tmpl, s.at))
			continue
		}
		must(res.Exec(ctx, `INSERT INTO scan_outcomes (scan_id, template_id, previous_scan_id, finished_at, open_ports, opened, closed, sample, computed_at)
			VALUES ($1, $2, $3, $4, 1000, 3, 2, '{"opened":[{"address":"10.0.0.1","port":22,"service":"ssh"}],"closed":[]}', now())`, s.id, s.tmpl, *prev, s.at))
	}
	if observations > 0 {
		must(res.Exec(ctx, `INSERT INTO observations (observed_at, scan_id, job_id, scanner_id, address, port, rtt_us)
			SELECT $3::timestamptz - (g % 10080) * interval '1 minute', ($1::uuid[])[1 + g % array_length($1::uuid[], 1)], $2, $2,
			       '10.0.0.0'::inet + g / 100, 1 + g % 100, 100
			FROM generate_series(0, $4 - 1) g`, ids, uuid.NewString(), e.now, observations))
		must(res.Exec(ctx, `VACUUM ANALYZE observations`))
	}
}

type home struct {
	Scanners *struct{ Online, Offline, Disabled int }
	Running  []struct{ ID string }
	Latest   []struct {
		ID             string
		TemplateName   string `json:"template_name"`
		OpenPorts      *int   `json:"open_ports"`
		Opened, Closed *int
	}
	NextRuns []struct{ Name string } `json:"next_runs"`
	Changes  *struct {
		Opened24h int `json:"opened_24h"`
		Closed24h int `json:"closed_24h"`
		Opened7d  int `json:"opened_7d"`
		Days      []struct {
			Day            time.Time
			Opened, Closed int
		}
	}
	Samples map[string]struct{ Opened []struct{ Address string } }
}

func TestTheHomePageShowsTheStateAtAGlance(t *testing.T) {
	e := start(t)
	e.seed(t, 20, 3, 30, 1000) // 30 hourly scans per template: a day and a quarter
	var h home
	r := e.owner.Get("/api/v1/home")
	if r.Status != http.StatusOK {
		t.Fatalf("home: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &h)
	if h.Scanners == nil || h.Scanners.Online != 18 || h.Scanners.Offline != 2 {
		t.Fatalf("scanners: %+v", h.Scanners)
	}
	if len(h.Running) != 1 || len(h.Latest) != 3 || len(h.NextRuns) != 10 || h.NextRuns[0].Name != "nightly-1" {
		t.Fatalf("running %d, latest %d, next runs %+v", len(h.Running), len(h.Latest), h.NextRuns)
	}
	for _, l := range h.Latest {
		if l.OpenPorts == nil || *l.OpenPorts != 1000 || l.Opened == nil || *l.Opened != 3 || len(h.Samples[l.ID].Opened) != 1 {
			t.Fatalf("latest %+v", l)
		}
	}
	// Scans finished 55 min, 1 h 55 min, ... ago: 24 per template in the last 24 h, each +3 −2.
	if h.Changes == nil || h.Changes.Opened24h != 3*24*3 || h.Changes.Closed24h != 3*24*2 || len(h.Changes.Days) != 7 || h.Changes.Opened7d != 3*29*3 {
		t.Fatalf("changes: %+v", h.Changes)
	}

	// Someone who may see none of it gets an empty page, not another module's data.
	c := rbactest.UserWithScopes(t, e.srv, e.owner, "audit:view")
	var none map[string]any
	c.Get("/api/v1/home").JSON(t, &none)
	for _, k := range []string{"scanners", "running", "latest", "next_runs", "changes", "samples"} {
		if none[k] != nil {
			t.Errorf("an auditor sees %s: %v", k, none[k])
		}
	}
}

// BenchmarkHome answers the home page over HTTP with 1,000 scanners, 200 templates of 50 scans
// each and -home.rows observations (target: under 300 ms at 10,000,000).
func BenchmarkHome(b *testing.B) {
	e := start(b)
	e.seed(b, 1000, 200, 50, *rows)
	b.ResetTimer()
	for b.Loop() {
		if r := e.owner.Get("/api/v1/home"); r.Status != http.StatusOK {
			b.Fatalf("home: %d %s", r.Status, r.Body)
		}
	}
	b.ReportMetric(float64(*rows), "observations")
}
