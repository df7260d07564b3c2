package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

type handlers struct{ m *app.Mount }

func (h handlers) routes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/audit", Scope: "audit:view", Handler: h.list,
			Summary: "List audit records, newest first", Query: Query{}, Response: app.Page[*AuditRecord]{}},
		{Method: http.MethodGet, Path: "/api/v1/audit/export", Scope: "audit:export", Handler: h.export,
			Summary: "Download the audit log, or a filtered part of it, as JSON Lines or CSV", Query: Query{}, Produces: "application/x-ndjson"},
		{Method: http.MethodGet, Path: "/api/v1/audit/verify", Scope: "audit:view", Handler: h.verify,
			Summary: "Recompute the keyed chain, hold it against the checkpoints, and name the first bad record or the missing tail", Response: Verification{}},
		{Method: http.MethodGet, Path: "/api/v1/audit/:id", Scope: "audit:view", Handler: h.get,
			Summary: "One audit record", Response: AuditRecord{}},
	}
}

func (h handlers) list(c echo.Context) error {
	q, err := bindQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	q.actorIDOnly = !seesPeople(ctx)
	page, err := list(ctx, h.m.ConfigDB, q)
	if err != nil {
		return err
	}
	if q.actorIDOnly {
		for _, r := range page.Items {
			hidePersonal(r)
		}
	}
	return c.JSON(http.StatusOK, page)
}

func (h handlers) get(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return app.NotFound("audit record")
	}
	r, err := get(c.Request().Context(), h.m.ConfigDB, id)
	if err != nil {
		return err
	}
	if !seesPeople(c.Request().Context()) {
		hidePersonal(r)
	}
	return c.JSON(http.StatusOK, r)
}

func (h handlers) verify(c echo.Context) error {
	v, err := Verify(c.Request().Context(), chainOf(h.m))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// export streams the matching records; the export itself is recorded first, so the evidence
// of who took a copy is in the copy.
func (h handlers) export(c echo.Context) error {
	q, err := bindQuery(c)
	if err != nil {
		return err
	}
	if q.Format == "" {
		q.Format = "jsonl"
	}
	if q.Format != "jsonl" && q.Format != "csv" {
		return app.Invalid("format", "invalid_format", "format must be jsonl or csv")
	}
	if _, err := q.where(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	q.actorIDOnly = !seesPeople(ctx)
	filter, _ := json.Marshal(q)
	var detail map[string]any
	json.Unmarshal(filter, &detail)
	detail["personal_fields_hidden"] = q.actorIDOnly
	if err := RecordNow(ctx, h.m.ConfigDB, Entry{Action: "audit.export", ResourceType: "audit_log", Detail: detail}); err != nil {
		return err
	}
	res := c.Response()
	name := fmt.Sprintf("mipo-audit-%s.%s", time.Now().UTC().Format("20060102T150405Z"), q.Format)
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	w := newExportWriter(q.Format, res)
	res.Header().Set(echo.HeaderContentType, w.contentType)
	res.WriteHeader(http.StatusOK)
	n := 0
	err = each(ctx, h.m.ConfigDB, q, func(r *AuditRecord) error {
		if q.actorIDOnly {
			hidePersonal(r)
		}
		if err := w.write(r); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			w.flush()
		}
		return nil
	})
	if err != nil {
		// The status is sent; all that is left is to cut the download short, so the client sees
		// an incomplete transfer instead of a silently short file.
		h.m.Log.Error("audit export aborted", "err", err, "records", n)
		panic(http.ErrAbortHandler)
	}
	w.flush()
	return nil
}

// exportWriter writes records as JSON Lines or CSV.
type exportWriter struct {
	contentType string
	write       func(*AuditRecord) error
	flush       func()
}

var csvHeader = []string{"id", "at", "actor_kind", "actor_id", "actor_name", "source_ip", "user_agent", "request_id",
	"action", "resource_type", "resource_id", "resource_name", "outcome", "diff", "detail", "prev_hash", "hash"}

func newExportWriter(format string, res *echo.Response) *exportWriter {
	if format == "csv" {
		cw := app.NewCSVWriter(res)
		cw.Write(csvHeader)
		return &exportWriter{
			contentType: "text/csv; charset=utf-8",
			write: func(r *AuditRecord) error {
				diff, _ := json.Marshal(r.Diff)
				detail, _ := json.Marshal(r.Detail)
				return cw.Write([]string{strconv.FormatInt(r.ID, 10), r.At.Format(time.RFC3339Nano), r.Actor.Kind, r.Actor.ID, r.Actor.Name,
					r.SourceIP, r.UserAgent, r.RequestID, r.Action, r.ResourceType, r.ResourceID, r.ResourceName, r.Outcome, string(diff), string(detail), r.PrevHash, r.Hash})
			},
			flush: func() { cw.Flush(); res.Flush() },
		}
	}
	enc := json.NewEncoder(res)
	enc.SetEscapeHTML(false)
	return &exportWriter{contentType: "application/x-ndjson", write: func(r *AuditRecord) error { return enc.Encode(r) }, flush: res.Flush}
}
