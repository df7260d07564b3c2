package results

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app/apptest"
)

// BenchmarkKeepLatest EXPLAINs (ANALYZE, BUFFERS) keepLatest's statement for a batch of 5,000
// ports new to the latest state, then for the same 5,000 ports seen again by the next scan (a
// rescan), then for the first batch again arriving late, in a latest state already holding 1,000,000 ports of other scanners; it reports the
// time of each per port, the rows each updated and the share of those that stayed HOT, and logs
// the plans.
//
//	go test -run '^$' -bench KeepLatest -benchtime 1x -v ./modules/results/
func BenchmarkKeepLatest(b *testing.B) {
	dbs := apptest.Databases(b)
	pool, owner := dbs.ResultsDB(), dbs.Owner(b).ResultsDB()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO latest_ports (first_seen, last_seen, port, scanner_id, last_scan, address)
		SELECT now(), now(), 1 + g % 3, md5('scanner' || g % 10)::uuid, md5('scan')::uuid, '10.0.0.0'::inet + g / 3
		FROM generate_series(0, 999999) g`); err != nil {
		b.Fatal(err)
	}
	vacuum := func() {
		if _, err := owner.Exec(ctx, `VACUUM ANALYZE latest_ports`); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		scanner := uuid.NewString()
		at := time.Now().Add(-time.Hour)
		batches := make([]Batch, 2)
		for p := range batches {
			batches[p] = Batch{ScanID: uuid.NewString(), ScannerID: scanner}
			for i := range 5000 {
				a := 1<<20 + i*7 // a /8's addresses, one in 7
				batches[p].Observations = append(batches[p].Observations, Observation{Address: netip.AddrFrom4([4]byte{10, byte(a >> 16), byte(a >> 8), byte(a)}),
					Port: uint16(1 + i%1000), ObservedAt: at.Add(time.Duration(p) * 30 * time.Minute)})
			}
		}
		// new: the first scan's; existing: the next scan's; late: the first scan's again, as a
		// spooled batch that arrives after the next scan's (it changes nothing).
		for _, p := range []struct {
			name  string
			batch Batch
		}{{"new", batches[0]}, {"existing", batches[1]}, {"late", batches[0]}} {
			vacuum()
			sql, args := keepLatestSQL(p.batch)
			var plan string
			if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				// Counts not yet flushed to the statistics, this backend's: a difference within
				// the transaction is the statement's.
				var upd0, hot0, upd, hot float64
				const counts = `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'latest_ports'`
				if err := tx.QueryRow(ctx, counts).Scan(&upd0, &hot0); err != nil {
					return err
				}
				rows, err := tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) `+sql, args...)
				if err != nil {
					return err
				}
				var ms float64
				if _, err = pgx.ForEachRow(rows, []any{&plan}, func() error {
					b.Log(plan)
					fmt.Sscanf(plan, "Execution Time: %f ms", &ms)
					return nil
				}); err != nil {
					return err
				}
				b.ReportMetric(ms*1000/5000, p.name+"-µs/port")
				if p.name == "new" {
					return nil
				}
				if err := tx.QueryRow(ctx, counts).Scan(&upd, &hot); err != nil {
					return err
				}
				b.ReportMetric(upd-upd0, p.name+"-updated")
				b.ReportMetric(100*(hot-hot0)/max(upd-upd0, 1), p.name+"-hot-%")
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
