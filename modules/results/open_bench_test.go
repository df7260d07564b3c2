package results

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
)

// BenchmarkOpenNowAfterAYear measures the Open ports page's query (openSQL, as OpenNow runs it)
// for a template whose latest scan found 40,000 ports, in a store holding a year of its weekly
// scans of the same ports (2,080,000 observations in weekly partitions): the first page of 50
// sorted by address, and sorted by first seen. Each row's first_seen is a min() over every
// week's (address, port) index, so the page costs more with each week kept, and sorting by it
// takes it for every open port of the scope. The baseline for reading "open now" from a table
// kept at each scan's completion instead.
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
	var latest string
	if err := pool.QueryRow(ctx, `SELECT md5('scan0')::uuid::text`).Scan(&latest); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, sort := range []string{"address", "first_seen"} {
			w, err := openWhere(OpenScope{}, []string{latest})
			if err != nil {
				b.Fatal(err)
			}
			t := time.Now()
			rows, err := pool.Query(ctx, openSQL(w)+` ORDER BY `+openOrder(sort, "ASC")+` LIMIT 50`, w.Args()...)
			page, err := app.Collect(rows, err, scanOpen)
			if err != nil || len(page) != 50 {
				b.Fatalf("%d rows: %v", len(page), err)
			}
			if first := page[0].FirstSeen; first.After(now.AddDate(0, 0, -7*(weeks-1))) {
				b.Fatalf("first seen %v: the year's first scan is its first sighting", first)
			}
			b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "page-by-"+sort+"-ms")
		}
	}
}
