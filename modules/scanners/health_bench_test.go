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

// The fleet health page with 1,000 scanners, a year of summarised history and the raw
// heartbeats MIPO_SCANNER_HISTORY_RETENTION keeps: the summary buckets as the prune-history job
// leaves them (5-minute ones for 2 days, hourly for 30 days, 6-hourly and daily for a year,
// about 3.1 million rows), and raw heartbeats for the last day at the real rate (one a minute)
// and hourly back to 30 days (about 2.1 million rows), which the page must not need to read.
// It reports each window's time and the size of its answer.
func BenchmarkFleetHealth(b *testing.B) {
	dbs := apptest.Databases(b)
	clock := app.NewFakeClock(time.Now().UTC().Truncate(time.Minute))
	srv := apptest.Start(b, scannerstest.Config(b, dbs, nil, app.RoleManager), dbs, app.Options{Clock: clock})
	owner := rbactest.Owner(b, srv)
	ctx, db, now := context.Background(), srv.App.DB.Config, clock.Now()
	if _, err := db.Exec(ctx, `INSERT INTO scanners (id, name, key_lookup, key_hash, key_created_at, binding, online, registered_at, last_seen_at, updated_at,
			hostname, version, capacity, metrics, active_jobs)
		SELECT gen_random_uuid(), 'scanner-' || i, 'lookup-' || i, '\x00', $1, '127.0.0.1', i % 10 <> 0, $1, $2, $1,
			'scanner-' || i || '.example.net', '1.4.2', '{"max_concurrency": 1000, "max_rate": 5000, "fd_limit": 65536}',
			json_build_object('at', $2::timestamptz, 'load1', random() * 4, 'cpu_percent', random() * 100, 'mem_used_bytes', 2000000000,
				'mem_total_bytes', 8000000000, 'net_rx_bytes', 123456789012, 'net_tx_bytes', 12345678901, 'net_rx_rate', random() * 1e6,
				'net_tx_rate', random() * 1e5, 'fd_open', 120, 'fd_limit', 65536), 1
		FROM generate_series(1, 1000) i`, now.Add(-365*24*time.Hour), now); err != nil {
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
	for _, st := range []struct {
		step int
		span time.Duration
	}{{300, 48 * time.Hour}, {3600, 30 * 24 * time.Hour}, {21600, 365 * 24 * time.Hour}, {86400, 365 * 24 * time.Hour}} {
		if _, err := db.Exec(ctx, `INSERT INTO scanner_metric_buckets (scanner_id, step, at, heartbeats,
				load1_min, load1_sum, load1_max, cpu_min, cpu_sum, cpu_max, mem_used_min, mem_used_sum, mem_used_max, mem_total_sum,
				net_rx_n, net_rx_min, net_rx_sum, net_rx_max, net_tx_n, net_tx_min, net_tx_sum, net_tx_max,
				active_jobs_max, fd_n, fd_open_sum, fd_limit_max)
			SELECT s.id, $1, t, n, 0, random() * n, 2, 0, random() * 100 * n, 100, 5e8, 1e9 * n, 2e9, 4e9 * n,
				n, 0, random() * 1e6 * n, 1e6, n, 0, random() * 1e5 * n, 1e5, 3, n, 200 * n, 1024
			FROM scanners s, generate_series(to_timestamp(floor(extract(epoch FROM $2::timestamptz) / $1) * $1), $3::timestamptz, $4::interval) t,
				LATERAL (SELECT $1 / 60 AS n) c`,
			st.step, now.Add(-st.span), now, (time.Duration(st.step) * time.Second).String()); err != nil {
			b.Fatal(err)
		}
	}
	db.Exec(ctx, `ANALYZE scanner_heartbeats`)
	db.Exec(ctx, `ANALYZE scanner_metric_buckets`)
	db.Exec(ctx, `ANALYZE scanners`)
	for _, c := range []struct{ name, path string }{
		{"hour", "/api/v1/scanners/health?hours=1"},
		{"day", "/api/v1/scanners/health"},
		{"week", "/api/v1/scanners/health?hours=168"},
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
