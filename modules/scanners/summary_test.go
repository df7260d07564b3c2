package scanners_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"
	migrations "mipo/sql"
)

// agg is min, sum, max and count of one metric's values in one bucket, computed here from the
// raw heartbeats.
type agg struct {
	min, sum, max float64
	n             int
}

func (a *agg) add(v *float64) {
	if v == nil {
		return
	}
	if a.n == 0 || *v < a.min {
		a.min = *v
	}
	if a.n == 0 || *v > a.max {
		a.max = *v
	}
	a.sum += *v
	a.n++
}

// same compares a summary's min, sum, max and count with the raw ones; sums to a relative 1e-9
// (they are added in another order).
func (a agg) same(min, sum, max *float64, n int) bool {
	if n != a.n {
		return false
	}
	if n == 0 {
		return min == nil && max == nil && *sum == 0
	}
	return min != nil && max != nil && *min == a.min && *max == a.max && math.Abs(*sum-a.sum) <= 1e-9*math.Max(1, math.Abs(a.sum))
}

// The property: for random heartbeats (beatRandomly), every bucket of every step of
// the summarised history holds exactly the count, minimum, maximum and sum (so the average) of
// the raw heartbeats stored in it. And the fleet page's sparkline points are those averages.
func TestSummaryKeepsMinAvgMaxOfTheRawHeartbeats(t *testing.T) {
	e := scannerstest.Start(t, nil)
	ctx, pool := context.Background(), e.Srv.App.DB.ConfigDB()
	now := e.Clock.Now()
	for seed := uint64(1); seed <= 6; seed++ {
		r := rand.New(rand.NewPCG(seed, seed))
		reg, _ := e.Scanner(t, fmt.Sprintf("prop-%d", seed))
		beatRandomly(t, e, reg.ScannerID, r, now)
		type key struct {
			step int
			at   int64
		}
		type bucket struct {
			n                      int
			load, cpu, mem, rx, tx agg
			memTotal, fdOpen       agg
			jobsMax, fdLimitMax    int
			fdLimitSeen            bool
		}
		want := map[key]*bucket{}
		rows, err := pool.Query(ctx, `SELECT at, load1, cpu_percent, mem_used_bytes::float8, mem_total_bytes::float8, net_rx_rate, net_tx_rate,
			active_jobs, fd_open::float8, fd_limit FROM scanner_heartbeats WHERE scanner_id = $1`, reg.ScannerID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close() // a failure below must not leave the connection busy
		raw := 0
		for rows.Next() {
			var hat time.Time
			var load, cpu, mem, memTotal float64
			var rxRate, txRate, fdOpen *float64
			var jobs int
			var fdLimit *int
			if err := rows.Scan(&hat, &load, &cpu, &mem, &memTotal, &rxRate, &txRate, &jobs, &fdOpen, &fdLimit); err != nil {
				t.Fatal(err)
			}
			raw++
			for _, step := range []int{300, 3600, 21600, 86400} {
				k := key{step, hat.Unix() - hat.Unix()%int64(step)}
				b := want[k]
				if b == nil {
					b = &bucket{}
					want[k] = b
				}
				b.n++
				b.load.add(&load)
				b.cpu.add(&cpu)
				b.mem.add(&mem)
				b.memTotal.add(&memTotal)
				b.rx.add(rxRate)
				b.tx.add(txRate)
				b.fdOpen.add(fdOpen)
				b.jobsMax = max(b.jobsMax, jobs)
				if fdLimit != nil {
					b.fdLimitMax, b.fdLimitSeen = max(b.fdLimitMax, *fdLimit), true
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows, err = pool.Query(ctx, `SELECT step, at, heartbeats, load1_min, load1_sum, load1_max, cpu_min, cpu_sum, cpu_max,
			mem_used_min, mem_used_sum, mem_used_max, mem_total_sum, net_rx_n, net_rx_min, net_rx_sum, net_rx_max,
			net_tx_n, net_tx_min, net_tx_sum, net_tx_max, active_jobs_max, fd_n, fd_open_sum, fd_limit_max
			FROM scanner_metric_buckets WHERE scanner_id = $1`, reg.ScannerID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := 0
		for rows.Next() {
			var step, n, rxN, txN, jobsMax, fdN int
			var bat time.Time
			var l, c, m, rxs, txs [3]*float64
			var memTotal, fdSum float64
			var fdLimit *int
			if err := rows.Scan(&step, &bat, &n, &l[0], &l[1], &l[2], &c[0], &c[1], &c[2], &m[0], &m[1], &m[2], &memTotal,
				&rxN, &rxs[0], &rxs[1], &rxs[2], &txN, &txs[0], &txs[1], &txs[2], &jobsMax, &fdN, &fdSum, &fdLimit); err != nil {
				t.Fatal(err)
			}
			got++
			b := want[key{step, bat.Unix()}]
			if b == nil {
				t.Fatalf("seed %d: a %d s bucket at %s holds no raw heartbeat", seed, step, bat)
			}
			ok := n == b.n && b.load.same(l[0], l[1], l[2], n) && b.cpu.same(c[0], c[1], c[2], n) && b.mem.same(m[0], m[1], m[2], n) &&
				math.Abs(memTotal-b.memTotal.sum) <= 1e-9*b.memTotal.sum && b.rx.same(rxs[0], rxs[1], rxs[2], rxN) && b.tx.same(txs[0], txs[1], txs[2], txN) &&
				jobsMax == b.jobsMax && fdN == b.fdOpen.n && math.Abs(fdSum-b.fdOpen.sum) <= 1e-9*math.Max(1, b.fdOpen.sum) &&
				(fdLimit != nil) == b.fdLimitSeen && (fdLimit == nil || *fdLimit == b.fdLimitMax)
			if !ok {
				t.Fatalf("seed %d: the %d s bucket at %s disagrees with its %d raw heartbeats: %+v", seed, step, bat, b.n, *b)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if got != len(want) {
			t.Fatalf("seed %d: %d summary buckets, the %d raw heartbeats fall in %d", seed, got, raw, len(want))
		}
		// The page: its points are the buckets' averages, rounded to what it shows.
		for _, hours := range []int{1, 5, 24, 168} {
			var fleet scanners.FleetHealth
			e.Owner.Get(fmt.Sprintf("/api/v1/scanners/health?hours=%d", hours)).JSON(t, &fleet)
			var sh *scanners.ScannerHealth
			for i := range fleet.Scanners {
				if fleet.Scanners[i].ID == reg.ScannerID {
					sh = &fleet.Scanners[i]
				}
			}
			if sh == nil {
				t.Fatalf("scanner %s not on the fleet page", reg.ScannerID)
			}
			sp := sh.Sparklines
			if len(sp.At) > 60 || len(sp.CPUPercent) != len(sp.At) || len(sp.MemUsedBytes) != len(sp.At) || len(sp.NetBytesPerSecond) != len(sp.At) {
				t.Fatalf("%d hours: sparklines of %d, %d, %d and %d points", hours, len(sp.At), len(sp.CPUPercent), len(sp.MemUsedBytes), len(sp.NetBytesPerSecond))
			}
			from := now.Add(-time.Duration(hours) * time.Hour)
			inWindow := 0
			for k := range want {
				if k.step == fleet.BucketSeconds && k.at+int64(k.step) > from.Unix() {
					inWindow++
				}
			}
			near := func(got, want, within float64) bool { return math.Abs(got-want) <= within }
			for i, at := range sp.At {
				b := want[key{fleet.BucketSeconds, at}]
				if b == nil {
					t.Fatalf("%d hours: a point at %d with no heartbeat", hours, at)
				}
				if i > 0 && at <= sp.At[i-1] {
					t.Fatalf("%d hours: points out of time order: %v", hours, sp.At)
				}
				var net float64
				if b.rx.n > 0 {
					net += b.rx.sum / float64(b.rx.n)
				}
				if b.tx.n > 0 {
					net += b.tx.sum / float64(b.tx.n)
				}
				if !near(sp.CPUPercent[i], b.cpu.sum/float64(b.n), 0.005+1e-9) || !near(float64(sp.MemUsedBytes[i]), b.mem.sum/float64(b.n), 0.5+1e-6) ||
					!near(float64(sp.NetBytesPerSecond[i]), net, 0.5+1e-6) {
					t.Fatalf("%d hours: point %d (cpu %v, memory %v, network %v), raw bucket %+v", hours, i, sp.CPUPercent[i], sp.MemUsedBytes[i], sp.NetBytesPerSecond[i], *b)
				}
			}
			if len(sp.At) != inWindow {
				t.Fatalf("%d hours: %d points, the window's heartbeats fall in %d buckets", hours, len(sp.At), inWindow)
			}
		}
	}
}

// beatRandomly sends a scanner random heartbeats over the 20 hours before now: random gaps,
// values, counter resets that leave no network rate, heartbeats without descriptor counts, late
// ones, and now and then the instant just stored again.
func beatRandomly(t *testing.T, e *scannerstest.Env, id string, r *rand.Rand, now time.Time) {
	t.Helper()
	ctx, pool := context.Background(), e.Srv.App.DB.ConfigDB()
	at := now.Add(-20 * time.Hour).Add(-time.Duration(r.IntN(3600)) * time.Second)
	var rx, tx uint64
	for i := 0; i < 30+r.IntN(90) && at.Before(now); i++ {
		switch {
		case i > 0 && r.IntN(10) == 0: // the instant just stored again: not history, not counted twice
		case i > 0 && r.IntN(15) == 0:
			at = at.Add(-time.Duration(1+r.IntN(1200)) * time.Second) // late, out of order
		default:
			at = at.Add(time.Duration(1+r.IntN(1200)) * time.Second)
		}
		rx, tx = rx+uint64(r.IntN(1e6)), tx+uint64(r.IntN(1e5))
		if r.IntN(10) == 0 {
			rx = uint64(r.IntN(100)) // a reboot: no rate this time
		}
		hb := scanners.HeartbeatReport{Load1: r.Float64() * 4, CPUPercent: r.Float64() * 100, MemUsed: uint64(r.IntN(8e9)),
			MemTotal: 8e9 + uint64(r.IntN(2))*8e9, NetRx: rx, NetTx: tx, ActiveJobs: r.IntN(5), Source: netip.MustParseAddr("127.0.0.1")}
		if r.IntN(3) > 0 {
			open, limit := r.IntN(1000), 1024*(1+r.IntN(4))
			hb.FDOpen, hb.FDLimit = &open, &limit
		}
		if _, err := scanners.Heartbeat(ctx, pool, e.Srv.App.Events, id, hb, at); err != nil {
			t.Fatal(err)
		}
	}
}

// The migration that created the summaries summarised the history kept until then: it gives,
// from the raw heartbeats, the buckets the heartbeats themselves keep (sums to a relative 1e-9).
func TestTheMigrationSummarisesTheHistoryAsHeartbeatsDo(t *testing.T) {
	e := scannerstest.Start(t, nil)
	ctx, pool := context.Background(), e.Srv.App.DB.ConfigDB()
	for seed := uint64(1); seed <= 3; seed++ {
		reg, _ := e.Scanner(t, fmt.Sprintf("migrated-%d", seed))
		beatRandomly(t, e, reg.ScannerID, rand.New(rand.NewPCG(seed, 7)), e.Clock.Now())
	}
	up, err := fs.ReadFile(migrations.FS("config"), "00180_scanner_metric_buckets.sql")
	if err != nil {
		t.Fatal(err)
	}
	text := string(up)
	start, end := strings.Index(text, "INSERT INTO scanner_metric_buckets"), strings.Index(text, "-- +goose Down")
	if start < 0 || end < start {
		t.Fatal("no summarising INSERT in the migration")
	}
	var exact, approx []string
	for _, c := range []string{"heartbeats", "load1_min", "load1_max", "cpu_min", "cpu_max", "mem_used_min", "mem_used_max", "net_rx_n", "net_rx_min",
		"net_rx_max", "net_tx_n", "net_tx_min", "net_tx_max", "active_jobs_max", "fd_n", "fd_limit_max"} {
		exact = append(exact, fmt.Sprintf("k.%s IS DISTINCT FROM b.%[1]s", c))
	}
	for _, c := range []string{"load1_sum", "cpu_sum", "mem_used_sum", "mem_total_sum", "net_rx_sum", "net_tx_sum", "fd_open_sum"} {
		approx = append(approx, fmt.Sprintf("abs(k.%s - b.%[1]s) > 1e-9 * greatest(1, abs(k.%[1]s))", c))
	}
	var kept, differ int
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT * FROM scanner_metric_buckets`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scanner_metric_buckets`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, text[start:end]); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM kept`).Scan(&kept); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM kept k FULL JOIN scanner_metric_buckets b USING (scanner_id, step, at)
			WHERE k.scanner_id IS NULL OR b.scanner_id IS NULL OR `+strings.Join(append(exact, approx...), " OR ")).Scan(&differ); err != nil {
			return err
		}
		return errors.New("rolled back") // leave the summaries as they were
	})
	if err == nil || err.Error() != "rolled back" {
		t.Fatal(err)
	}
	if kept == 0 || differ != 0 {
		t.Fatalf("the migration's summary differs from the heartbeats' in %d of %d buckets", differ, kept)
	}
}

// Pruning keeps each step's buckets for its own time: 5-minute ones 2 days, hourly ones 30
// days, 6-hourly and daily ones a year; raw heartbeats go by MIPO_SCANNER_HISTORY_RETENTION.
func TestPruningKeepsEachStepOfTheSummaryForItsOwnTime(t *testing.T) {
	e := scannerstest.Start(t, nil)
	ctx, pool := context.Background(), e.Srv.App.DB.ConfigDB()
	reg, _ := e.Scanner(t, "pruned")
	now := e.Clock.Now()
	for _, ago := range []time.Duration{400 * 24 * time.Hour, 40 * 24 * time.Hour, 3 * 24 * time.Hour, time.Hour} {
		hb := scanners.HeartbeatReport{Load1: 1, CPUPercent: 10, MemUsed: 1, MemTotal: 2, Source: netip.MustParseAddr("127.0.0.1")}
		if _, err := scanners.Heartbeat(ctx, pool, e.Srv.App.Events, reg.ScannerID, hb, now.Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := scanners.PruneSummaries(ctx, pool, now); err != nil {
		t.Fatal(err)
	}
	// Left: 5-minute, the last hour's; hourly, 3 days and an hour ago; 6-hourly and daily, all
	// but the one 400 days ago.
	for step, want := range map[int]int{300: 1, 3600: 2, 21600: 3, 86400: 3} {
		if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM scanner_metric_buckets WHERE scanner_id = $1 AND step = $2`, reg.ScannerID, step); n != want {
			t.Errorf("%d s buckets: %d left, want %d", step, n, want)
		}
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM scanner_heartbeats WHERE scanner_id = $1`, reg.ScannerID); n != 4 {
		t.Errorf("%d raw heartbeats left, want 4: pruning the summary leaves them to their own retention", n)
	}
}
