package health

import (
	"context"
	"net/http"
	"testing"
	"time"

	"mipo/app"
)

func BenchmarkOverviewAndComponent(b *testing.B) {
	clock := app.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	srv, owner := newServer(b, clock)
	ctx, db, now := context.Background(), srv.App.DB.Jobs, clock.Now()
	series := []string{"database:jobs/latency_ms", "database:jobs/size_mb", "database:jobs/pool_in_use", "edge/latency_ms"}
	for _, s := range series {
		for _, st := range []struct {
			step  int
			every time.Duration
			span  time.Duration
		}{{StepHour, time.Hour, 365 * 24 * time.Hour}, {Step5Min, 5 * time.Minute, 30 * 24 * time.Hour}, {StepRaw, 15 * time.Second, 24 * time.Hour}} {
			if _, err := db.Exec(ctx, `INSERT INTO health_series (series, step, at, min, avg, max, n)
				SELECT $1, $2, t, random(), random() + 1, random() + 2, 12 FROM generate_series($3::timestamptz, $4::timestamptz, $5::interval) t`,
				s, st.step, now.Add(-st.span), now, st.every.String()); err != nil {
				b.Fatal(err)
			}
		}
	}
	// 1,000 processes reporting (far more than any deployment runs), so the overview's read of
	// the reports is measured at scale.
	if _, err := db.Exec(ctx, `INSERT INTO health_processes (process, roles, version, started_at, reported_at, report)
		SELECT 'host' || i || ':1', ARRAY['ingest'], 'bench', $1, $1, '{"pools":{}}' FROM generate_series(1, 1000) i`, now); err != nil {
		b.Fatal(err)
	}
	db.Exec(ctx, `ANALYZE health_series`)
	for _, c := range []struct{ name, path string }{
		{"overview", "/api/v1/health/overview"},
		{"component-year", "/api/v1/health/components/database:jobs?hours=8760"},
		{"component-day", "/api/v1/health/components/database:jobs?hours=24"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if r := owner.Get(c.path); r.Status != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, r.Status, r.Body)
				}
			}
		})
	}
}
