package health

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/alarms"
	_ "mipo/modules/ingest" // fills in ingestapi
	_ "mipo/modules/jobs"   // fills in jobsapi
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/scanners" // fills in scannersapi
)

func TestMain(m *testing.M) { apptest.Main(m) }

func status(o Overview, id string) string {
	for _, n := range o.Nodes {
		if n.ID == id {
			return n.Status
		}
	}
	return "absent"
}

// Stopping the jobs database's cluster turns its node red on the overview and opens the
// alarm; starting it again turns the node green and resolves the alarm.
func TestStoppingTheJobsClusterTurnsItsNodeRedAndOpensTheAlarm(t *testing.T) {
	dbs := apptest.Databases(t)
	pg, sep := dbs.SeparateJobsCluster(t)
	ctx := context.Background()
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_ROLE": "manager,dispatcher",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": pg.AppDSN(app.DBJobs)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := apptest.Start(t, cfg, sep, app.Options{})
	owner := rbactest.Owner(t, srv)
	node := func() string {
		var o Overview
		owner.Get("/api/v1/health/overview").JSON(t, &o)
		return status(o, "database:jobs")
	}
	alarm := func(state string) bool {
		var page struct{ Items []struct{ Key string } }
		owner.Get("/api/v1/alarms?state="+state+"&rule=database.jobs.unreachable").JSON(t, &page)
		return len(page.Items) == 1
	}
	apptest.WaitFor(t, 40*time.Second, "the jobs node green", func() bool { return node() == StatusOK })
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 40*time.Second, "the jobs node red and its alarm open", func() bool { return node() == StatusDown && alarm("open") })
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 40*time.Second, "the jobs node green and its alarm resolved", func() bool { return node() == StatusOK && alarm("resolved") })
}

// The SQL fold (Compact) agrees with the pure one (Downsample) on a random raw series.
func TestCompactAgreesWithDownsample(t *testing.T) {
	dbs := apptest.Databases(t)
	ctx := context.Background()
	db := dbs.Jobs
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(7, 7))
	var raw []Point
	for at := now.Add(-40 * 24 * time.Hour); at.Before(now.Add(-25 * time.Hour)); at = at.Add(time.Duration(1+r.IntN(900)) * time.Second) {
		p := Raw(at.Truncate(time.Second), math.Round(r.NormFloat64()*1000)/8)
		raw = append(raw, p)
		if err := Record(ctx, db, p.At, map[string]float64{"test:compact/v": p.Avg}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Compact(ctx, db, now); err != nil {
		t.Fatal(err)
	}
	if err := Compact(ctx, db, now); err != nil { // twice: idempotent
		t.Fatal(err)
	}
	var got []Point
	for _, step := range []int{Step5Min, StepHour} {
		rows, _ := db.Query(ctx, `SELECT at, min, avg, max, n FROM health_series WHERE series = 'test:compact/v' AND step = $1 ORDER BY at`, step)
		for rows.Next() {
			var p Point
			rows.Scan(&p.At, &p.Min, &p.Avg, &p.Max, &p.N)
			got = append(got, p)
		}
	}
	var n int
	db.QueryRow(ctx, `SELECT count(*) FROM health_series WHERE series = 'test:compact/v' AND step = 0`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d raw points older than a day remain", n)
	}
	want := Downsample(raw, Step5Min)
	cut := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	var keep5, old []Point
	for _, p := range want {
		if p.At.Before(cut) {
			old = append(old, p)
		} else {
			keep5 = append(keep5, p)
		}
	}
	want = append(keep5, Downsample(old, StepHour)...)
	if len(got) != len(want) {
		t.Fatalf("%d buckets stored, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) || g.N != w.N || g.Min != w.Min || g.Max != w.Max || math.Abs(g.Avg-w.Avg) > 1e-9 {
			t.Fatalf("bucket %d: got %+v, want %+v", i, g, w)
		}
	}
}

// The internal DNS node resolves the names roles use to reach each other — the backup role's
// internal API and the edge — beside the databases' hosts, each under its own label.
func TestInternalDNSCoversTheNamesRolesUseToReachEachOther(t *testing.T) {
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_ROLE": "manager",
		"MIPO_BACKUP_URL": "http://localhost:1", "MIPO_HEALTH_EDGE_URL": "https://localhost:2/healthz",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	owner := rbactest.Owner(t, apptest.Start(t, cfg, dbs, app.Options{}))
	var detail map[string]any
	apptest.WaitFor(t, 40*time.Second, "the internal DNS probe", func() bool {
		var o Overview
		owner.Get("/api/v1/health/overview").JSON(t, &o)
		for _, n := range o.Nodes {
			if n.ID == "dns:internal" {
				detail, _ = n.Detail.(map[string]any)
			}
		}
		return detail != nil && detail["backup"] != nil
	})
	for _, label := range []string{"backup", "edge"} {
		addrs, ok := detail[label].([]any)
		if !ok || len(addrs) == 0 {
			t.Fatalf("%s: want the addresses localhost resolves to, got %v (detail %v)", label, detail[label], detail)
		}
	}
}
