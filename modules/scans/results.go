package scans

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/jobs"
	"mipo/modules/results"
)

// The results module compares scans it learns of from here: scans are this module's.
func init() { results.ProvideScans(scanSource{}) }

type scanSource struct{}

func (scanSource) Scan(ctx context.Context, db app.Querier, id string) (results.Scan, error) {
	return asResult(Get(ctx, db, id))
}

func (scanSource) Previous(ctx context.Context, db app.Querier, s results.Scan) (results.Scan, error) {
	return asResult(previous(ctx, db, s.TemplateID, s.LaunchedAt))
}

func (scanSource) LatestAt(ctx context.Context, db app.Querier, templateID string, t time.Time, field string) (results.Scan, error) {
	return asResult(latestAt(ctx, db, templateID, t, field))
}

func (scanSource) Completed(ctx context.Context, db app.Querier, templateID string) ([]results.ScanRef, error) {
	w := &app.Where{}
	w.Add("status = 'completed'")
	if templateID != "" {
		w.Add("template_id = " + w.Arg(templateID) + "::uuid")
	}
	rows, err := db.Query(ctx, `SELECT id::text, finished_at FROM scans WHERE `+w.SQL()+` ORDER BY finished_at`, w.Args()...)
	return app.Collect(rows, err, func(row pgx.Row) (results.ScanRef, error) {
		var r results.ScanRef
		return r, row.Scan(&r.ID, &r.At)
	})
}

func (scanSource) Latest(ctx context.Context, db app.Querier, templateID string) ([]results.ScanRef, error) {
	w := &app.Where{}
	w.Add("status = 'completed'")
	if templateID != "" {
		w.Add("template_id = " + w.Arg(templateID) + "::uuid")
	}
	rows, err := db.Query(ctx, `SELECT DISTINCT ON (template_id) id::text, finished_at FROM scans WHERE `+w.SQL()+`
		ORDER BY template_id, created_at DESC`, w.Args()...)
	return app.Collect(rows, err, func(row pgx.Row) (results.ScanRef, error) {
		var r results.ScanRef
		return r, row.Scan(&r.ID, &r.At)
	})
}

func asResult(s *Scan, err error) (results.Scan, error) {
	if err != nil {
		return results.Scan{}, err
	}
	r := results.Scan{ID: s.ID, TemplateID: s.TemplateID, LaunchedAt: s.CreatedAt, Vantage: s.Mode == jobs.KindVantage}
	if s.FinishedAt != nil {
		r.FinishedAt = *s.FinishedAt
	}
	return r, nil
}

var _ results.ScanSource = scanSource{}
