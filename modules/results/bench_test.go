package results_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/results"
)

// fill inserts n generated observations for one scan with SQL, fast: addr(i) and port(i) are
// SQL expressions of the series number g.
func fill(b *testing.B, pool app.ResultsDB, scan, scanner string, n int, addr, port string) {
	b.Helper()
	_, err := pool.Exec(context.Background(), `
		INSERT INTO observations (observed_at, scan_id, job_id, scanner_id, address, port, rtt_us)
		SELECT now() - (g % 525600) * interval '1 minute', $1, $2, $3, `+addr+`, `+port+`, 100
		FROM generate_series(0, $4 - 1) g`, scan, uuid.NewString(), scanner, n)
	if err != nil {
		b.Fatal(err)
	}
}

func cover(b *testing.B, pool app.ResultsDB, scan, scanner, cidr, ports string) {
	b.Helper()
	set, _ := netset.Parse(cidr)
	targets, _ := json.Marshal(set)
	_, err := pool.Exec(context.Background(), `INSERT INTO job_coverage (job_id, scan_id, scanner_id, targets, ports, status, completed_at)
		VALUES ($1, $2, $3, $4, $5, 'done', now())`, uuid.NewString(), scan, scanner, targets, ports)
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDiffOneMillion diffs two scans of 1,000,000 open observations each, 1% of which
// moved to another port (10,000 opened, 10,000 closed): read from their observations, as while
// they run, and from their key sets, as once they completed. Aim: under 500 ms.
func BenchmarkDiffOneMillion(b *testing.B) {
	dbs := apptest.Databases(b)
	pool := dbs.ResultsDB()
	ctx := context.Background()
	scanner, a, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	fill(b, pool, a, scanner, 1_000_000, `'10.0.0.0'::inet + g / 10`, `1 + g % 10`)
	fill(b, pool, c, scanner, 1_000_000, `'10.0.0.0'::inet + g / 10`, `CASE WHEN g % 100 = 0 THEN 101 + g % 10 ELSE 1 + g % 10 END`)
	for _, s := range []string{a, c} {
		cover(b, pool, s, scanner, "10.0.0.0/8", "1-200")
	}
	// As the tables' owner: VACUUM skips, with a warning, a table its role does not own.
	if _, err := dbs.Owner(b).ResultsDB().Exec(ctx, `VACUUM ANALYZE observations`); err != nil {
		b.Fatal(err)
	}
	diff := func(b *testing.B) {
		for b.Loop() {
			d, err := results.DiffScans(ctx, pool, a, c, true)
			if err != nil {
				b.Fatal(err)
			}
			if len(d.Opened) != 10_000 || len(d.Closed) != 10_000 {
				b.Fatalf("opened %d closed %d, want 10000 each", len(d.Opened), len(d.Closed))
			}
		}
	}
	b.Run("running", diff)
	for _, s := range []string{a, c} {
		if _, err := results.MakeKeySet(ctx, pool, s); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("completed", diff)
}

// BenchmarkHistorySlash16 pages the newest observations of one /16 out of 10,000,000 spread
// over 10.0.0.0/8 and a year. Aim: under 500 ms.
func BenchmarkHistorySlash16(b *testing.B) {
	pool := apptest.Databases(b).ResultsDB()
	ctx := context.Background()
	start := time.Now()
	fill(b, pool, uuid.NewString(), uuid.NewString(), 10_000_000, `'10.0.0.0'::inet + (g::bigint * 2654435761 % 16777216)`, `1 + g % 1000`)
	pool.Exec(ctx, `VACUUM ANALYZE observations`)
	b.Logf("10,000,000 observations loaded in %s", time.Since(start).Round(time.Second))
	b.ResetTimer()
	for b.Loop() {
		page, err := results.History(ctx, pool, results.HistoryQuery{Subnet: "10.42.0.0/16", Limit: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Items) != 100 {
			b.Fatalf("%d rows", len(page.Items))
		}
	}
}
