package scanners_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/scanners/scannerstest"
)

// The fleet health page with 1,000 scanners and their heartbeat history: the last day at the
// real rate (one a minute) and hourly rows back to the 30 days MIPO_SCANNER_HISTORY_RETENTION
// keeps (heartbeats older than that are pruned, so no fleet has more), about 2.1 million rows.
func BenchmarkFleetHealth(b *testing.B) {
	dbs := apptest.Databases(b)
	clock := app.NewFakeClock(time.Now().UTC().Truncate(time.Minute))
	srv := apptest.Start(b, scannerstest.Config(b, dbs, nil, app.RoleManager), dbs, app.Options{Clock: clock})
	owner := rbactest.Owner(b, srv)
	ctx, db, now := context.Background(), srv.App.DB.Config, clock.Now()
	if _, err := db.Exec(ctx, `INSERT INTO scanners (id, name, key_lookup, key_hash, key_created_at, binding, online, registered_at, last_seen_at, updated_at)
		SELECT gen_random_uuid(), 'scanner-' || i, 'lookup-' || i, '\x00', $1, '127.0.0.1', i % 10 <> 0, $1, $2, $1
		FROM generate_series(1, 1000) i`, now.Add(-30*24*time.Hour), now); err != nil {
		b.Fatal(err)
	}
	for _, part := range []struct {
		from, to time.Duration
		every    string
	}{{30 * 24 * time.Hour, 25 * time.Hour, "1 hour"}, {24 * time.Hour, 0, "1 minute"}} {
		if _, err := db.Exec(ctx, `INSERT INTO scanner_heartbeats (scanner_id, at, load1, cpu_percent, mem_used_bytes, mem_total_bytes, net_rx_rate, net_tx_rate, active_jobs)
			SELECT s.id, t, random(), random() * 100, 1e9, 4e9, random() * 1e6, random() * 1e5, 1
			FROM scanners s, generate_series($1::timestamptz, $2::timestamptz, $3::interval) t`,
			now.Add(-part.from), now.Add(-part.to), part.every); err != nil {
			b.Fatal(err)
		}
	}
	db.Exec(ctx, `ANALYZE scanner_heartbeats`)
	db.Exec(ctx, `ANALYZE scanners`)
	for _, c := range []struct{ name, path string }{
		{"day", "/api/v1/scanners/health"},
		{"30days", "/api/v1/scanners/health?hours=720"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r := owner.Get(c.path)
				if r.Status != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, r.Status, r.Body)
				}
				b.ReportMetric(float64(len(r.Body)), "bytes/answer")
			}
		})
	}
}
