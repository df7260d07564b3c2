package ingest

import (
	"context"
	"mipo/app"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
)

// meter counts this process's scanner API traffic; every meterEvery it writes the totals and
// the rates over the last interval to ingest_nodes in the jobs database, where the health pages
// read them (Nodes), whichever process serves those pages.
type meter struct {
	node     string
	started  time.Time
	requests atomic.Int64
	results  atomic.Int64

	lastAt                 time.Time
	lastRequests, lastRows int64
	peak                   float64
}

const meterEvery = 10 * time.Second

func newMeter(node string) *meter {
	now := time.Now()
	return &meter{node: node, started: now, lastAt: now}
}

// count is middleware counting every /scanner/ request.
func (m *meter) count(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m.requests.Add(1)
		return next(c)
	}
}

// flush writes the figures since the last flush. final writes rates of zero: the process stops.
func (m *meter) flush(ctx context.Context, db app.Querier, final bool) error {
	now := time.Now()
	reqs, rows := m.requests.Load(), m.results.Load()
	dt := now.Sub(m.lastAt).Seconds()
	var reqRate, rowRate float64
	if dt > 0 && !final {
		reqRate, rowRate = float64(reqs-m.lastRequests)/dt, float64(rows-m.lastRows)/dt
	}
	m.peak = max(m.peak, rowRate)
	_, err := db.Exec(ctx, `INSERT INTO ingest_nodes (node, started_at, updated_at, requests_total, results_total, requests_per_s, results_per_s, peak_results_per_s)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (node) DO UPDATE SET started_at = EXCLUDED.started_at, updated_at = EXCLUDED.updated_at,
			requests_total = EXCLUDED.requests_total, results_total = EXCLUDED.results_total, requests_per_s = EXCLUDED.requests_per_s,
			results_per_s = EXCLUDED.results_per_s, peak_results_per_s = EXCLUDED.peak_results_per_s`,
		m.node, m.started, now.UTC(), reqs, rows, reqRate, rowRate, m.peak)
	if err == nil {
		m.lastAt, m.lastRequests, m.lastRows = now, reqs, rows
	}
	return err
}

// Nodes lists every ingest process that reported its throughput, most recent first. A node
// whose UpdatedAt is older than a few intervals has stopped.
func Nodes(ctx context.Context, db app.Querier) ([]Node, error) {
	rows, err := db.Query(ctx, `SELECT node, started_at, updated_at, requests_total, results_total, requests_per_s, results_per_s, peak_results_per_s
		FROM ingest_nodes ORDER BY updated_at DESC, node`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Node])
	if out == nil {
		out = []Node{}
	}
	return out, err
}
