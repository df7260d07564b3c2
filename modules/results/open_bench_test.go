package results

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
)

// BenchmarkOpenNowAfterAYear measures the Open ports page for a template whose latest scan
// found 40,000 ports, in a store holding a year of its weekly scans of the same ports
// (2,080,000 observations in weekly partitions): keeping open now at the template's first scan
// (every port new) and at a rescan that changed nothing (the work at each scan's completion),
// and the first page of 50 sorted by address,
// by first seen and by last seen. None of it should grow with the weeks kept.
//
//	go test -run '^$' -bench OpenNowAfterAYear -benchtime 3x ./modules/results/
func BenchmarkOpenNowAfterAYear(b *testing.B) {
	dbs := apptest.Databases(b)
	pool, owner := dbs.ResultsDB(), dbs.Owner(b).ResultsDB()
	ctx := context.Background()
	now := time.Now()
	if _, err := EnsurePartitions(ctx, pool, now.AddDate(-1, 0, -7), now.Add(PartitionsAhead)); err != nil {
		b.Fatal(err)
	}
	const ports, weeks = 40_000, 52
	// Scan w (0 the latest) a week before scan w-1; 4 ports on each of 10,000 addresses.
	if _, err := pool.Exec(ctx, `INSERT INTO observations (observed_at, port, rtt_us, scan_id, scanner_id, job_id, address)
		SELECT now() - (g / $2::int) * interval '7 days' - interval '1 hour', 1 + g % 4, 100, md5('scan' || g / $2::int)::uuid, $1,
		       md5('job' || g / $2::int)::uuid, '10.0.0.0'::inet + (g % $2::int) / 4
		FROM generate_series(0, $2::int * $3::int - 1) g`, uuid.NewString(), ports, weeks); err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `VACUUM ANALYZE observations`); err != nil {
		b.Fatal(err)
	}
	scan := func(w int) ScanRef {
		var id string
		if err := pool.QueryRow(ctx, `SELECT md5('scan' || $1::int)::uuid::text`, w).Scan(&id); err != nil {
			b.Fatal(err)
		}
		return ScanRef{ID: id, TemplateID: "7e3a1c52-0000-4000-8000-000000000001", At: now.AddDate(0, 0, -7*w)}
	}
	// The year's first scan opened every port (kept: every port new); the one before the
	// latest is kept.
	t := time.Now()
	if err := keepOpenNow(ctx, pool, scan(weeks-1)); err != nil {
		b.Fatal(err)
	}
	keepFirst := time.Since(t)
	if err := keepOpenNow(ctx, pool, scan(1)); err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `VACUUM ANALYZE open_now`); err != nil {
		b.Fatal(err)
	}
	latest := scan(0)
	for b.Loop() {
		t := time.Now()
		if err := keepOpenNow(ctx, pool, latest); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "keep-rescan-ms")
		for _, sort := range []string{"address", "first_seen", "last_seen"} {
			t := time.Now()
			page, err := OpenNowOf(ctx, pool, OpenScope{}, []ScanRef{latest}, app.List{Sort: sort, Limit: 50})
			if err != nil || len(page.Items) != 50 {
				b.Fatalf("%d rows: %v", len(page.Items), err)
			}
			if first := page.Items[0].FirstSeen; first.After(now.AddDate(0, 0, -7*(weeks-1))) {
				b.Fatalf("first seen %v: the year's first scan opened it", first)
			}
			if last := page.Items[0].LastSeen; last.Before(now.Add(-2 * time.Hour)) {
				b.Fatalf("last seen %v: the latest scan saw it", last)
			}
			b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "page-by-"+sort+"-ms")
		}
		// The next rescan keeps again.
		if _, err := pool.Exec(ctx, `UPDATE open_now_scans SET scan_id = NULL`); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(keepFirst.Microseconds())/1000, "keep-first-ms")
}
