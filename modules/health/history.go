package health

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/modules/jobs"
)

// Record stores raw points of several series at one time.
func Record(ctx context.Context, db jobs.Querier, at time.Time, values map[string]float64) error {
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
func Compact(ctx context.Context, db jobs.Querier, now time.Time) error {
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

// History reads a series from since on, choosing the finest step that still covers since.
func History(ctx context.Context, db jobs.Querier, series string, since, now time.Time) ([]Point, error) {
	step := StepHour
	for _, s := range []int{Step5Min, StepRaw} {
		if now.Sub(since) <= retention[s] {
			step = s
		}
	}
	rows, err := db.Query(ctx, `SELECT at, min, avg, max, n FROM health_series
		WHERE series = $1 AND step = $2 AND at >= $3 ORDER BY at`, series, step, since)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Point])
	if out == nil {
		out = []Point{}
	}
	return out, err
}
