package scans

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/jobs/jobsapi"
	"mipo/modules/results/resultsapi"
)

// The results module compares scans it learns of from here: scans are this module's.
func init() { resultsapi.Scans = scanSource{} }

type scanSource struct{}

func (scanSource) Scan(ctx context.Context, db app.Querier, id string) (resultsapi.Scan, error) {
	return asResult(Get(ctx, db, id))
}

func (scanSource) Previous(ctx context.Context, db app.Querier, s resultsapi.Scan) (resultsapi.Scan, error) {
	return asResult(previous(ctx, db, s.TemplateID, s.LaunchedAt))
}

func (scanSource) LatestAt(ctx context.Context, db app.Querier, templateID string, t time.Time, field string) (resultsapi.Scan, error) {
	return asResult(latestAt(ctx, db, templateID, t, field))
}

// completed is the condition of a template's completed scans (every template's when templateID
// is ""), which each of the readers below starts from.
func completed(templateID string) *app.Where {
	w := &app.Where{}
	w.Add("status = 'completed'")
	if templateID != "" {
		w.Add("template_id = " + w.Arg(templateID) + "::uuid")
	}
	return w
}

func scanRef(row pgx.Row) (resultsapi.ScanRef, error) {
	var r resultsapi.ScanRef
	return r, row.Scan(&r.ID, &r.At, &r.TemplateID)
}

func (scanSource) Completed(ctx context.Context, db app.Querier, templateID string) ([]resultsapi.ScanRef, error) {
	w := completed(templateID)
	rows, err := db.Query(ctx, `SELECT id::text, finished_at, template_id::text FROM scans WHERE `+w.SQL()+` ORDER BY finished_at`, w.Args()...)
	return app.Collect(rows, err, scanRef)
}

func (scanSource) Latest(ctx context.Context, db app.Querier, templateID string) ([]resultsapi.ScanRef, error) {
	w := completed(templateID)
	rows, err := db.Query(ctx, `SELECT DISTINCT ON (template_id) id::text, finished_at, template_id::text FROM scans WHERE `+w.SQL()+`
		ORDER BY template_id, created_at DESC`, w.Args()...)
	return app.Collect(rows, err, scanRef)
}

func (scanSource) Finished(ctx context.Context, db app.Querier, from, to time.Time, templateID string, limit int) ([]resultsapi.FinishedScan, error) {
	w := completed(templateID)
	// The previous scan is found by the window function over all of a template's completed
	// scans, before the time window narrows them: the first scan inside the window still has
	// its predecessor from before it. One query for the whole list.
	rows, err := db.Query(ctx, `SELECT id::text, template_id::text, template_name, created_at, mode, finished_at,
			COALESCE(prev_id::text, ''), prev_created, COALESCE(prev_mode, '')
		FROM (SELECT id, template_id, template_name, created_at, mode, finished_at,
				LAG(id) OVER t AS prev_id, LAG(created_at) OVER t AS prev_created, LAG(mode) OVER t AS prev_mode
			FROM scans WHERE `+w.SQL()+` WINDOW t AS (PARTITION BY template_id ORDER BY created_at)) s
		WHERE finished_at >= `+w.Arg(from)+` AND finished_at < `+w.Arg(to)+`
		ORDER BY finished_at, id LIMIT `+w.Arg(limit), w.Args()...)
	return app.Collect(rows, err, func(row pgx.Row) (resultsapi.FinishedScan, error) {
		var f resultsapi.FinishedScan
		var mode, prevMode string
		var prevCreated *time.Time
		err := row.Scan(&f.ID, &f.TemplateID, &f.TemplateName, &f.LaunchedAt, &mode, &f.FinishedAt, &f.Previous.ID, &prevCreated, &prevMode)
		f.Vantage = mode == jobsapi.KindVantage
		if prevCreated != nil {
			f.Previous = resultsapi.Scan{ID: f.Previous.ID, TemplateID: f.TemplateID, LaunchedAt: *prevCreated, Vantage: prevMode == jobsapi.KindVantage}
		}
		return f, err
	})
}

func asResult(s *Scan, err error) (resultsapi.Scan, error) {
	if err != nil {
		return resultsapi.Scan{}, err
	}
	r := resultsapi.Scan{ID: s.ID, TemplateID: s.TemplateID, LaunchedAt: s.CreatedAt, Vantage: s.Mode == jobsapi.KindVantage}
	if s.FinishedAt != nil {
		r.FinishedAt = *s.FinishedAt
	}
	return r, nil
}

var _ resultsapi.ScanSource = scanSource{}
