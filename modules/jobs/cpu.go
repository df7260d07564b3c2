package jobs

import (
	"context"
	"mipo/app"
	"time"

	"github.com/jackc/pgx/v5"
)

// ProbesPerCPUSecond is, per scanner, how many probes its jobs finished since since made for
// each CPU second the scanner spent on them: what a scanner costs the host it runs on. Only
// jobs whose completion carried cpu_seconds count (older scanners do not send it), so a
// scanner without any is absent.
func ProbesPerCPUSecond(ctx context.Context, db app.Querier, since time.Time) (map[string]float64, error) {
	rows, err := db.Query(ctx, `
		SELECT scanner_id::text, sum(ports_probed)::float8 / sum(cpu_seconds)
		FROM jobs WHERE finished_at >= $1 AND cpu_seconds IS NOT NULL AND scanner_id IS NOT NULL
		GROUP BY scanner_id HAVING sum(cpu_seconds) > 0`, since)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	var id string
	var rate float64
	_, err = pgx.ForEachRow(rows, []any{&id, &rate}, func() error {
		out[id] = rate
		return nil
	})
	return out, err
}
