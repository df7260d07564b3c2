package scanners

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// The steps, in seconds, of the summarised heartbeat history (scanner_metric_buckets): every
// heartbeat is folded into one bucket of each, and the fleet page reads the finest step that
// gives its window at most maxSparkPoints buckets.
var summarySteps = []int{300, 3600, 21600, 86400}

// summaryRetention is how long each step's buckets are kept. The page reads 5-minute buckets
// for windows up to 5 hours and hourly ones up to 60 hours; two days and the 30 days raw
// heartbeats are kept by default are plenty. The 6-hourly and daily ones hold a year: a
// thousand scanners' year is under two million rows.
var summaryRetention = map[int]time.Duration{
	300:   48 * time.Hour,
	3600:  30 * 24 * time.Hour,
	21600: 365 * 24 * time.Hour,
	86400: 365 * 24 * time.Hour,
}

// maxSparkPoints bounds the points of a sparkline on the fleet page (96 pixels wide).
const maxSparkPoints = 60

// stepFor is the finest summary step that gives the window at most maxSparkPoints buckets.
func stepFor(window time.Duration) int {
	for _, s := range summarySteps {
		if window <= time.Duration(s*maxSparkPoints)*time.Second {
			return s
		}
	}
	return summarySteps[len(summarySteps)-1]
}

// summarise folds one heartbeat into its bucket of every step, in the heartbeat's transaction:
// the count goes up by one, each minimum and maximum takes the value in, each sum adds it. A
// missing network rate or descriptor count leaves its own count and sum as they were (least and
// greatest skip NULLs), so its average stays over the heartbeats that had one.
func summarise(ctx context.Context, db app.Querier, id string, at time.Time, m Metrics, activeJobs int) error {
	_, err := db.Exec(ctx, `INSERT INTO scanner_metric_buckets AS b (scanner_id, step, at, heartbeats,
			load1_min, load1_sum, load1_max, cpu_min, cpu_sum, cpu_max, mem_used_min, mem_used_sum, mem_used_max, mem_total_sum,
			net_rx_n, net_rx_min, net_rx_sum, net_rx_max, net_tx_n, net_tx_min, net_tx_sum, net_tx_max,
			active_jobs_max, fd_n, fd_open_sum, fd_limit_max)
		SELECT $1, s, to_timestamp(floor(extract(epoch FROM $2::timestamptz) / s) * s), 1,
			$3, $3, $3, $4, $4, $4, $5, $5, $5, $6,
			($7::float8 IS NOT NULL)::int, $7, COALESCE($7, 0), $7, ($8::float8 IS NOT NULL)::int, $8, COALESCE($8, 0), $8,
			$9, ($10::int IS NOT NULL)::int, COALESCE($10, 0), $11
		FROM unnest($12::int[]) AS s
		ON CONFLICT (scanner_id, step, at) DO UPDATE SET heartbeats = b.heartbeats + 1,
			load1_min = least(b.load1_min, excluded.load1_min), load1_sum = b.load1_sum + excluded.load1_sum,
			load1_max = greatest(b.load1_max, excluded.load1_max),
			cpu_min = least(b.cpu_min, excluded.cpu_min), cpu_sum = b.cpu_sum + excluded.cpu_sum, cpu_max = greatest(b.cpu_max, excluded.cpu_max),
			mem_used_min = least(b.mem_used_min, excluded.mem_used_min), mem_used_sum = b.mem_used_sum + excluded.mem_used_sum,
			mem_used_max = greatest(b.mem_used_max, excluded.mem_used_max), mem_total_sum = b.mem_total_sum + excluded.mem_total_sum,
			net_rx_n = b.net_rx_n + excluded.net_rx_n, net_rx_min = least(b.net_rx_min, excluded.net_rx_min),
			net_rx_sum = b.net_rx_sum + excluded.net_rx_sum, net_rx_max = greatest(b.net_rx_max, excluded.net_rx_max),
			net_tx_n = b.net_tx_n + excluded.net_tx_n, net_tx_min = least(b.net_tx_min, excluded.net_tx_min),
			net_tx_sum = b.net_tx_sum + excluded.net_tx_sum, net_tx_max = greatest(b.net_tx_max, excluded.net_tx_max),
			active_jobs_max = greatest(b.active_jobs_max, excluded.active_jobs_max),
			fd_n = b.fd_n + excluded.fd_n, fd_open_sum = b.fd_open_sum + excluded.fd_open_sum,
			fd_limit_max = greatest(b.fd_limit_max, excluded.fd_limit_max)`,
		id, at, m.Load1, m.CPUPercent, m.MemUsedBytes, m.MemTotalBytes, m.NetRxRate, m.NetTxRate, activeJobs, m.FDOpen, m.FDLimit, summarySteps)
	return err
}

// PruneSummaries deletes the summary buckets older than their step's retention; it returns
// how many went.
func PruneSummaries(ctx context.Context, db app.Querier, now time.Time) (int64, error) {
	var gone int64
	for _, s := range summarySteps {
		tag, err := db.Exec(ctx, `DELETE FROM scanner_metric_buckets WHERE step = $1 AND at < $2`, s, now.Add(-summaryRetention[s]))
		if err != nil {
			return gone, err
		}
		gone += tag.RowsAffected()
	}
	return gone, nil
}

// Sparklines are a scanner's metrics over the fleet page's window, one value per bucket in
// each array, in time order: columns rather than objects, so a thousand scanners' answer stays
// small.
type Sparklines struct {
	At                []int64   `json:"at" doc:"Start of each bucket, Unix seconds; buckets without a heartbeat are left out."`
	CPUPercent        []float64 `json:"cpu_percent" doc:"Average CPU use in each bucket, percent."`
	MemUsedBytes      []int64   `json:"mem_used_bytes" doc:"Average memory in use in each bucket, bytes."`
	NetBytesPerSecond []int64   `json:"net_bytes_per_second" doc:"Average network I/O in each bucket, received plus sent, bytes/s; 0 where no heartbeat had a rate."`
}

// sparklines reads every scanner's summary buckets of one step from after until to, keyed by
// scanner. An average is its sum over its count, rounded to what the page shows: a hundredth
// of a percent, and whole bytes as integers, which are much quicker to write than floats. The
// rows come in no order: each scanner's are sorted here, which costs less than sorting them
// all in the database.
func sparklines(ctx context.Context, db app.Querier, step int, after, to time.Time) (map[string]Sparklines, error) {
	rows, err := db.Query(ctx, `SELECT scanner_id::text, extract(epoch FROM at)::bigint, heartbeats, cpu_sum, mem_used_sum,
			net_rx_n, net_rx_sum, net_tx_n, net_tx_sum
		FROM scanner_metric_buckets WHERE step = $1 AND at > $2 AND at <= $3`, step, after, to)
	if err != nil {
		return nil, err
	}
	type point struct {
		at, mem, net int64
		cpu          float64
	}
	byScanner := map[string][]point{}
	var id string
	var p point
	var n, rxN, txN int
	var cpu, mem, rx, tx float64
	_, err = pgx.ForEachRow(rows, []any{&id, &p.at, &n, &cpu, &mem, &rxN, &rx, &txN, &tx}, func() error {
		var net float64
		if rxN > 0 {
			net += rx / float64(rxN)
		}
		if txN > 0 {
			net += tx / float64(txN)
		}
		p.cpu, p.mem, p.net = math.Round(cpu/float64(n)*100)/100, int64(math.Round(mem/float64(n))), int64(math.Round(net))
		byScanner[id] = append(byScanner[id], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Sparklines, len(byScanner))
	for id, ps := range byScanner {
		slices.SortFunc(ps, func(a, b point) int { return cmp.Compare(a.at, b.at) })
		s := Sparklines{At: make([]int64, len(ps)), CPUPercent: make([]float64, len(ps)), MemUsedBytes: make([]int64, len(ps)),
			NetBytesPerSecond: make([]int64, len(ps))}
		for i, p := range ps {
			s.At[i], s.CPUPercent[i], s.MemUsedBytes[i], s.NetBytesPerSecond[i] = p.at, p.cpu, p.mem, p.net
		}
		out[id] = s
	}
	return out, nil
}

// noSparklines is the sparklines of a scanner without heartbeats in the window.
func noSparklines() Sparklines {
	return Sparklines{At: []int64{}, CPUPercent: []float64{}, MemUsedBytes: []int64{}, NetBytesPerSecond: []int64{}}
}
