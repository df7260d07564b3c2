package scans

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
	"mipo/modules/results/resultsapi"
)

const columns = `id, template_id, template_name, template_version, template_group_id, schedule_id, mode, scanner_ids, status,
	status_detail, addresses::text, ports, probes::text, jobs_total, jobs_failed, completion, launched_by, created_at, started_at, finished_at`

func scanRow(row pgx.Row) (*Scan, error) {
	s := &Scan{}
	err := row.Scan(&s.ID, &s.TemplateID, &s.TemplateName, &s.TemplateVersion, &s.TemplateGroupID, &s.ScheduleID, &s.Mode,
		&s.ScannerIDs, &s.Status, &s.StatusDetail, &s.Addresses, &s.Ports, &s.Probes, &s.JobsTotal, &s.JobsFailed,
		&s.Completion, &s.LaunchedBy, &s.CreatedAt, &s.StartedAt, &s.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("scan")
	}
	if s.ScannerIDs == nil {
		s.ScannerIDs = []string{}
	}
	s.Trigger = "manual"
	if s.ScheduleID != nil {
		s.Trigger = "scheduled"
	}
	return s, err
}

func collect(rows pgx.Rows, err error) ([]*Scan, error) { return app.Collect(rows, err, scanRow) }

// Get loads a scan with its frozen scope.
func Get(ctx context.Context, db app.Querier, id string) (*Scan, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("scan")
	}
	s, err := scanRow(db.QueryRow(ctx, `SELECT `+columns+` FROM scans WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	var raw []byte
	if err := db.QueryRow(ctx, `SELECT scope FROM scans WHERE id = $1`, id).Scan(&raw); err != nil {
		return nil, err
	}
	s.Scope = &configapi.Scope{}
	return s, json.Unmarshal(raw, s.Scope)
}

// WithOutcomes fills in the outcome of completed scans from the results module, in one query.
func WithOutcomes(ctx context.Context, rdb app.ResultsDB, scans ...*Scan) error {
	var ids []string
	for _, s := range scans {
		if s.Status == Completed {
			ids = append(ids, s.ID)
		}
	}
	outs, err := resultsapi.Outcomes(ctx, rdb, ids)
	if err != nil {
		return err
	}
	for _, s := range scans {
		if o, ok := outs[s.ID]; ok {
			open := o.OpenPorts
			s.OpenPorts, s.Opened, s.Closed, s.ComparedWith, s.FirstScan = &open, o.Opened, o.Closed, o.PreviousScanID, o.PreviousScanID == nil
		}
	}
	return nil
}

// insert records a launched scan.
func insert(ctx context.Context, tx pgx.Tx, s *Scan) error {
	scope, err := json.Marshal(s.Scope)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO scans (id, template_id, template_name, template_version, template_group_id, schedule_id, scope,
		mode, status, addresses, ports, probes, launched_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10::numeric,$11,$12::numeric,$13,$14)`,
		s.ID, s.TemplateID, s.TemplateName, s.TemplateVersion, s.TemplateGroupID, s.ScheduleID, scope, s.Mode, s.Status,
		s.Addresses, s.Ports, s.Probes, s.LaunchedBy, s.CreatedAt)
	return err
}

// ListQuery filters the scans table.
type ListQuery struct {
	app.ListQuery
	Status   string `query:"status" json:"status,omitempty" doc:"pending, running, completed, failed or cancelled; a comma list for several."`
	Scanner  string `query:"scanner" json:"scanner,omitempty" doc:"Only scans given to this scanner (id)."`
	Template string `query:"template" json:"template,omitempty" doc:"Only scans of this template (id)."`
	From     string `query:"from" json:"from,omitempty" doc:"Launched at or after this time (RFC 3339)."`
	To       string `query:"to" json:"to,omitempty" doc:"Launched before this time (RFC 3339)."`
}

var listSorts = []string{"-created_at", "started_at", "finished_at", "status", "template_name", "completion"}

var statuses = map[string]bool{Pending: true, Running: true, Completed: true, Failed: true, Cancelled: true}

func list(ctx context.Context, db app.Querier, l app.List, q ListQuery) (app.Page[*Scan], error) {
	w := &app.Where{}
	if q.Status != "" {
		parts := strings.Split(q.Status, ",")
		for _, p := range parts {
			if !statuses[p] {
				return app.Page[*Scan]{}, app.Invalid("status", "invalid_status", "status must be pending, running, completed, failed or cancelled")
			}
		}
		w.Add("status = ANY (" + w.Arg(parts) + ")")
	}
	for _, f := range []struct{ field, value, cond string }{{"scanner", q.Scanner, "%s = ANY (scanner_ids)"}, {"template", q.Template, "template_id = %s"}} {
		if f.value == "" {
			continue
		}
		if _, err := uuid.Parse(f.value); err != nil {
			return app.Page[*Scan]{}, app.Invalid(f.field, "invalid_id", f.field+" must be an id")
		}
		w.Add(strings.Replace(f.cond, "%s", w.Arg(f.value)+"::uuid", 1))
	}
	for _, f := range []struct{ field, value, cond string }{{"from", q.From, "created_at >= "}, {"to", q.To, "created_at < "}} {
		if f.value == "" {
			continue
		}
		t, err := app.ParseTime(f.field, f.value)
		if err != nil {
			return app.Page[*Scan]{}, err
		}
		w.Add(f.cond + w.Arg(t))
	}
	rows, err := db.Query(ctx, `SELECT `+columns+` FROM scans WHERE `+w.SQL()+` ORDER BY `+l.Sort+` `+l.Direction()+` NULLS LAST, id
		LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...)
	out, err := collect(rows, err)
	if err != nil {
		return app.Page[*Scan]{}, err
	}
	return app.Paginate(l, out), nil
}

// openScans lists pending and running scans, oldest first (the dispatcher's work list).
func openScans(ctx context.Context, db app.Querier) ([]*Scan, error) {
	return collect(db.Query(ctx, `SELECT `+columns+` FROM scans WHERE status IN ('pending', 'running') ORDER BY created_at`))
}

// previous returns the latest scan of the same template that finished before s was launched:
// what a scan is compared with by default.
func previous(ctx context.Context, db app.Querier, templateID string, launched time.Time) (*Scan, error) {
	p, err := scanRow(db.QueryRow(ctx, `SELECT `+columns+` FROM scans WHERE template_id = $1 AND status = 'completed'
		AND created_at < $2 ORDER BY created_at DESC LIMIT 1`, templateID, launched))
	if err != nil {
		return nil, app.IfNotFound(err, app.Conflict("no_earlier_scan", "there is no earlier completed scan of this template to compare with"))
	}
	return p, nil
}

// latestAt returns the latest completed scan of a template that finished at or before t; field
// names the request field t came from, for the refusal when there is none.
func latestAt(ctx context.Context, db app.Querier, templateID string, t time.Time, field string) (*Scan, error) {
	s, err := scanRow(db.QueryRow(ctx, `SELECT `+columns+` FROM scans WHERE template_id = $1 AND status = 'completed'
		AND finished_at <= $2 ORDER BY finished_at DESC LIMIT 1`, templateID, t))
	if err != nil {
		return nil, app.IfNotFound(err, app.Invalid(field, "no_scan", "no completed scan of this template had finished by "+t.UTC().Format(time.RFC3339)))
	}
	return s, nil
}

// CompletedBetween lists the scans that completed in [from, to), oldest first, each with its
// frozen scope: what other modules (findings' evidence packs) read about scans in a period.
func CompletedBetween(ctx context.Context, db app.Querier, from, to time.Time) ([]*Scan, error) {
	rows, err := db.Query(ctx, `SELECT `+columns+`, scope FROM scans WHERE status = 'completed' AND finished_at >= $1 AND finished_at < $2
		ORDER BY finished_at, id`, from, to)
	return app.Collect(rows, err, func(row pgx.Row) (*Scan, error) {
		s := &Scan{Scope: &configapi.Scope{}}
		var raw []byte
		err := row.Scan(&s.ID, &s.TemplateID, &s.TemplateName, &s.TemplateVersion, &s.TemplateGroupID, &s.ScheduleID, &s.Mode,
			&s.ScannerIDs, &s.Status, &s.StatusDetail, &s.Addresses, &s.Ports, &s.Probes, &s.JobsTotal, &s.JobsFailed,
			&s.Completion, &s.LaunchedBy, &s.CreatedAt, &s.StartedAt, &s.FinishedAt, &raw)
		if err != nil {
			return nil, err
		}
		if s.ScannerIDs == nil {
			s.ScannerIDs = []string{}
		}
		return s, json.Unmarshal(raw, s.Scope)
	})
}
