package audit

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
)

// Query is the filter every audit read takes: the list, the export and the CLI.
type Query struct {
	Actor        string `query:"actor" json:"actor,omitempty" doc:"Actor name or id (user, token, scanner or system job)."`
	Action       string `query:"action" json:"action,omitempty" doc:"Action such as user.create; end with * for a prefix (user.*)."`
	ResourceType string `query:"resource_type" json:"resource_type,omitempty" doc:"Resource type such as user or role."`
	ResourceID   string `query:"resource_id" json:"resource_id,omitempty" doc:"Resource id."`
	Outcome      string `query:"outcome" json:"outcome,omitempty" doc:"success or failure."`
	From         string `query:"from" json:"from,omitempty" doc:"Earliest time, RFC 3339."`
	To           string `query:"to" json:"to,omitempty" doc:"Latest time (exclusive), RFC 3339."`
	Limit        int    `query:"limit" json:"limit,omitempty" doc:"Records per page, 1 to 500 (default 50)."`
	Cursor       string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
	Format       string `query:"format" json:"format,omitempty" doc:"Export format: jsonl (default) or csv."`

	actorIDOnly bool // the reader may not see people (privacy.go): Actor matches ids, never names
}

// where turns a Query into SQL conditions, validating each field.
func (q Query) where() (*app.Where, error) {
	w := &app.Where{}
	if q.Actor != "" {
		p := w.Arg(q.Actor)
		if q.actorIDOnly {
			w.Add("actor_id = " + p)
		} else {
			w.Add("(actor_name = " + p + " OR actor_id = " + p + ")")
		}
	}
	if q.Action != "" {
		if prefix, ok := strings.CutSuffix(q.Action, "*"); ok {
			w.Add("action LIKE " + w.Arg(app.EscapeLike(prefix)+"%"))
		} else {
			w.Add("action = " + w.Arg(q.Action))
		}
	}
	if q.ResourceType != "" {
		w.Add("resource_type = " + w.Arg(q.ResourceType))
	}
	if q.ResourceID != "" {
		w.Add("resource_id = " + w.Arg(q.ResourceID))
	}
	switch q.Outcome {
	case "":
	case Success, Failure:
		w.Add("outcome = " + w.Arg(q.Outcome))
	default:
		return nil, app.Invalid("outcome", "invalid_outcome", "outcome must be success or failure")
	}
	for _, t := range []struct{ field, value, op string }{{"from", q.From, ">="}, {"to", q.To, "<"}} {
		if t.value == "" {
			continue
		}
		at, err := app.ParseTime(t.field, t.value)
		if err != nil {
			return nil, err
		}
		w.Add("at " + t.op + " " + w.Arg(at))
	}
	return w, nil
}

// list returns one page, newest first. The cursor is the last id seen (keyset pagination, so
// paging stays fast at millions of records).
func list(ctx context.Context, pool app.ConfigDB, q Query) (app.Page[*AuditRecord], error) {
	w, err := q.where()
	if err != nil {
		return app.Page[*AuditRecord]{}, err
	}
	limit := 50
	if q.Limit != 0 {
		if q.Limit < 1 || q.Limit > 500 {
			return app.Page[*AuditRecord]{}, app.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 500")
		}
		limit = q.Limit
	}
	if q.Cursor != "" {
		var cur struct {
			Before int64 `json:"b"`
		}
		if err := app.DecodeCursor(q.Cursor, &cur); err != nil || cur.Before <= 0 {
			return app.Page[*AuditRecord]{}, app.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it")
		}
		w.Add("id < " + w.Arg(cur.Before))
	}
	rows, err := pool.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE `+w.SQL()+` ORDER BY id DESC LIMIT `+w.Arg(limit+1), w.Args()...)
	records, err := app.Collect(rows, err,
		func(row pgx.Row) (*AuditRecord, error) {
			r, err := scanRecord(row)
			if err != nil {
				return nil, err
			}
			return r.decode(), nil
		})
	if err != nil {
		return app.Page[*AuditRecord]{}, err
	}
	return app.PageByKey(limit, records, func(last *AuditRecord) any {
		return struct {
			Before int64 `json:"b"`
		}{last.ID}
	}), nil
}

// get returns one record.
func get(ctx context.Context, pool app.ConfigDB, id int64) (*AuditRecord, error) {
	r, err := scanRecord(pool.QueryRow(ctx, `SELECT `+columns+` FROM audit_log WHERE id = $1`, id))
	if err == pgx.ErrNoRows {
		return nil, app.NotFound("audit record")
	}
	if err != nil {
		return nil, err
	}
	return r.decode(), nil
}

// each streams every record matching q, oldest first, to fn, one row at a time: an export
// of millions of records never holds more than one in memory.
func each(ctx context.Context, pool app.ConfigDB, q Query, fn func(*AuditRecord) error) error {
	w, err := q.where()
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE `+w.SQL()+` ORDER BY id`, w.Args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := fn(r.decode()); err != nil {
			return err
		}
	}
	return rows.Err()
}

func bindQuery(c echo.Context) (Query, error) {
	var q Query
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
		return q, app.Invalid("limit", "invalid_query", "a query parameter is malformed: "+err.Error())
	}
	return q, nil
}

// CheckQuery validates a filter without running it.
func CheckQuery(q Query) error {
	_, err := q.where()
	return err
}
