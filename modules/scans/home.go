package scans

import (
	"context"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// The home page's questions about scans, answered here so the home module never reads the
// scans or schedules tables.

// InFlight lists the pending and running scans, newest first, at most limit.
func InFlight(ctx context.Context, db app.Querier, limit int) ([]*Scan, error) {
	return collect(db.Query(ctx, `SELECT `+columns+` FROM scans WHERE status IN ('pending', 'running') ORDER BY created_at DESC LIMIT $1`, limit))
}

// LatestPerTemplate lists each template's latest finished scan (completed, failed or
// cancelled), newest first, at most limit.
func LatestPerTemplate(ctx context.Context, db app.Querier, limit int) ([]*Scan, error) {
	return collect(db.Query(ctx, `SELECT * FROM (SELECT DISTINCT ON (template_id) `+columns+` FROM scans
		WHERE status IN ('completed', 'failed', 'cancelled') ORDER BY template_id, created_at DESC) s
		ORDER BY created_at DESC LIMIT $1`, limit))
}

// NextRuns lists the enabled schedules' next launches, soonest first, at most limit.
func NextRuns(ctx context.Context, db app.Querier, limit int) ([]NextRun, error) {
	rows, err := db.Query(ctx, `SELECT id::text, name, template_id::text, template_group_id::text, next_run_at FROM schedules
		WHERE enabled AND next_run_at IS NOT NULL ORDER BY next_run_at LIMIT $1`, limit)
	return app.Collect(rows, err, func(row pgx.Row) (NextRun, error) {
		var n NextRun
		err := row.Scan(&n.ScheduleID, &n.Name, &n.TemplateID, &n.TemplateGroupID, &n.At)
		n.At = n.At.UTC()
		return n, err
	})
}
