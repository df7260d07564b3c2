package health

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Record stores raw points of several series at one time.
func Record(ctx context.Context, db app.Querier, at time.Time, values map[string]float64) error {
	names, vals := make([]string, 0, len(values)), make([]float64, 0, len(values))
	for s, v := range values {
		names, vals = append(names, s), append(vals, v)
	}
	_, err := db.Exec(ctx, `INSERT INTO health_series (series, step, at, min, avg, max, n)
		SELECT s, 0, $3, v, v, v, 1 FROM unnest($1::text[], $2::float8[]) AS u(s, v)
		ON CONFLICT (series, step, at) DO UPDATE SET min = excluded.min, avg = excluded.avg, max = excluded.max, n = 1`, names, vals, at)
	return err
}

// Compact folds each step's points older than its retention into the next step's buckets (the
// same fold Downsample does, in SQL, so min/avg/max and the count survive) and drops the hourly
// points older than a year. The fold merges into buckets that already exist, so running it
// again, or while points arrive, loses nothing.
func Compact(ctx context.Context, db app.Querier, now time.Time) error {
	for _, f := range []struct{ from, to int }{{StepRaw, Step5Min}, {Step5Min, StepHour}} {
		cutoff := now.Add(-retention[f.from]).Truncate(time.Duration(f.to) * time.Second)
		if _, err := db.Exec(ctx, `WITH gone AS (
				DELETE FROM health_series WHERE step = $1 AND at < $3 RETURNING series, at, min, avg, max, n)
			INSERT INTO health_series (series, step, at, min, avg, max, n)
			SELECT series, $2::integer, to_timestamp(floor(extract(epoch FROM at) / $2::integer) * $2::integer), min(min), sum(avg * n) / sum(n), max(max), sum(n)
			FROM gone GROUP BY 1, 3
			ON CONFLICT (series, step, at) DO UPDATE SET
				min = least(health_series.min, excluded.min),
				max = greatest(health_series.max, excluded.max),
				avg = (health_series.avg * health_series.n + excluded.avg * excluded.n) / (health_series.n + excluded.n),
				n = health_series.n + excluded.n`, f.from, f.to, cutoff); err != nil {
			return err
		}
	}
	_, err := db.Exec(ctx, `DELETE FROM health_series WHERE step = $1 AND at < $2`, StepHour, now.Add(-retention[StepHour]))
	return err
}

// stepFor is the finest step whose retention still covers since.
func stepFor(since, now time.Time) int {
	step := StepHour
	for _, s := range []int{Step5Min, StepRaw} {
		if now.Sub(since) <= retention[s] {
			step = s
		}
	}
	return step
}

// History reads every series of a component (names starting with prefix and a slash) from
// since on, keyed by the rest of the name, at the finest step that still covers since. One
// range scan of the primary key (series is in the C collation, where '0' follows '/').
func History(ctx context.Context, db app.Querier, prefix string, since, now time.Time) (map[string][]Point, error) {
	rows, err := db.Query(ctx, `SELECT substr(series, length($1) + 2), at, min, avg, max, n FROM health_series
		WHERE series >= $1 || '/' AND series < $1 || '0' AND step = $2 AND at >= $3 ORDER BY series, at`, prefix, stepFor(since, now), since)
	if err != nil {
		return nil, err
	}
	out := map[string][]Point{}
	var name string
	var p Point
	_, err = pgx.ForEachRow(rows, []any{&name, &p.At, &p.Min, &p.Avg, &p.Max, &p.N}, func() error {
		out[name] = append(out[name], p)
		return nil
	})
	// A chart has a few hundred pixels: more points than chartPoints are folded (min/avg/max
	// kept) into wider buckets, so a day of raw points does not travel to the browser.
	width := int(now.Sub(since).Seconds()) / chartPoints
	for k, ps := range out {
		if len(ps) > chartPoints {
			out[k] = Downsample(ps, width)
		}
	}
	return out, err
}

// chartPoints is about the most points a component chart draws.
const chartPoints = 500
