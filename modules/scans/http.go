package scans

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
	"mipo/modules/jobs"
	"mipo/modules/results"
)

type handlers struct {
	m         *app.Mount
	maxProbes int64
	rnd       *rand.Rand
}

// Detail is a scan with its live progress and its jobs.
type Detail struct {
	Scan     *Scan      `json:"scan"`
	Progress Progress   `json:"progress"`
	Jobs     []*JobView `json:"jobs"`
}

// JobView is one job as the scan page lists it.
type JobView struct {
	ID          string     `json:"id"`
	Seq         int        `json:"seq"`
	Kind        string     `json:"kind"`
	ScannerID   string     `json:"scanner_id"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	HostsTotal  int64      `json:"hosts_total"`
	HostsDone   int64      `json:"hosts_done"`
	PortsTotal  int64      `json:"ports_total"`
	PortsProbed int64      `json:"ports_probed"`
	ProgressAt  *time.Time `json:"progress_at"`
	Error       string     `json:"error"`
	Partial     bool       `json:"partial" doc:"The job failed or was cancelled: the ports it found are kept, marked as partial, and it counts as covering nothing in diffs."`
}

// DiffQuery picks what a scan is compared with.
type DiffQuery struct {
	Against string `query:"against" json:"against,omitempty" doc:"The scan to compare with (id); default: the previous completed scan of the same template."`
}

// TimeDiffQuery compares a template's state at two points in time.
type TimeDiffQuery struct {
	Template string `query:"template" json:"template" doc:"The template (id)."`
	From     string `query:"from" json:"from" doc:"The earlier time (RFC 3339): the last completed scan by then is compared..."`
	To       string `query:"to" json:"to" doc:"...with the last completed scan by this time (RFC 3339; default now)."`
}

// TimelineQuery asks for one address's port history.
type TimelineQuery struct {
	Address  string `query:"address" json:"address" doc:"The address (IPv4 or IPv6)."`
	Template string `query:"template" json:"template,omitempty" doc:"Only scans of this template (id); default: every completed scan."`
}

// Timeline is an address's port history.
type Timeline struct {
	Address string                 `json:"address"`
	Scans   int                    `json:"scans" doc:"Completed scans considered."`
	Ports   []results.PortTimeline `json:"ports"`
}

func (h *handlers) routes() []app.Route {
	get, post := http.MethodGet, http.MethodPost
	return []app.Route{
		{Method: post, Path: "/api/v1/scans", Scope: "scans:execute", Handler: h.launch, Request: Launch{}, Response: Launched{}, Status: http.StatusCreated,
			Summary: "Launch a template (or every template of a group) now; returns at once with the recorded scans"},
		{Method: get, Path: "/api/v1/scans", Scope: "scans:view", Handler: h.list, Query: ListQuery{}, Response: app.Page[*Scan]{},
			Summary: "List scans; filter by status, scanner, template and launch time"},
		{Method: get, Path: "/api/v1/scans/:id", Scope: "scans:view", Handler: h.get, Response: Detail{},
			Summary: "A scan with its frozen scope, live progress and jobs"},
		{Method: post, Path: "/api/v1/scans/:id/cancel", Scope: "scans:execute", Handler: h.cancel, Response: Scan{},
			Summary: "Cancel a pending or running scan"},
		{Method: get, Path: "/api/v1/scans/:id/diff", Scope: "results:view", Handler: h.diff, Query: DiffQuery{}, Response: results.Diff{},
			Summary: "What opened and closed since another scan (by default the template's previous one), counting only what both covered"},
		{Method: get, Path: "/api/v1/scans/:id/vantage", Scope: "results:view", Handler: h.vantage, Response: results.Vantage{},
			Summary: "What each scanner of a vantage scan saw, side by side"},
		{Method: get, Path: "/api/v1/results", Scope: "results:view", Handler: h.history, Query: results.HistoryQuery{}, Response: app.Page[results.Observed]{},
			Summary: "Observations, newest first: filter by subnet, ports, scanner, scan and time"},
		{Method: get, Path: "/api/v1/results/export", Scope: "results:export", Handler: h.export, Query: results.HistoryQuery{}, Produces: "text/csv",
			Summary: "Download observations as CSV or JSON"},
		{Method: get, Path: "/api/v1/results/diff", Scope: "results:view", Handler: h.timeDiff, Query: TimeDiffQuery{}, Response: results.Diff{},
			Summary: "What opened and closed for a template between two points in time"},
		{Method: get, Path: "/api/v1/results/timeline", Scope: "results:view", Handler: h.timeline, Query: TimelineQuery{}, Response: Timeline{},
			Summary: "When each port of an address was first seen open, and when it closed"},
		{Method: get, Path: "/api/v1/schedules", Scope: "scans:view", Handler: h.listSchedules, Query: app.ListQuery{}, Response: app.Page[*Schedule]{},
			Summary: "List schedules with their next runs"},
		{Method: post, Path: "/api/v1/schedules", Scope: "scans:schedule", Handler: h.createSchedule, Request: ScheduleInput{}, Response: Schedule{}, Status: http.StatusCreated,
			Summary: "Attach a schedule to a template or template group"},
		{Method: get, Path: "/api/v1/schedules/:id", Scope: "scans:view", Handler: h.getSchedule, Response: Schedule{},
			Summary: "One schedule"},
		{Method: http.MethodPatch, Path: "/api/v1/schedules/:id", Scope: "scans:schedule", Handler: h.updateSchedule, Request: ScheduleUpdate{}, Response: Schedule{},
			Summary: "Change a schedule's name, timing or enabled state"},
		{Method: http.MethodDelete, Path: "/api/v1/schedules/:id", Scope: "scans:schedule", Handler: h.deleteSchedule, Status: http.StatusNoContent,
			Summary: "Delete a schedule (its scans stay)"},
	}
}

func (h *handlers) launch(c echo.Context) error {
	var in Launch
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	scans, err := launch(ctx, tx, in, nil, h.m.Clock.Now(), h.maxProbes)
	if err != nil {
		return err
	}
	for _, s := range scans {
		s.Scope = nil
	}
	return c.JSON(http.StatusCreated, Launched{Items: scans})
}

func (h *handlers) list(c echo.Context) error {
	l, err := app.ParseList(c, listSorts...)
	if err != nil {
		return err
	}
	q := ListQuery{Status: c.QueryParam("status"), Scanner: c.QueryParam("scanner"), Template: c.QueryParam("template"),
		From: c.QueryParam("from"), To: c.QueryParam("to")}
	page, err := list(c.Request().Context(), h.m.DB.Config, l, q)
	if err != nil {
		return err
	}
	if err := h.liveCompletion(c.Request().Context(), page.Items); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// liveCompletion fills in the completion of open scans from their jobs, in one query.
func (h *handlers) liveCompletion(ctx context.Context, scans []*Scan) error {
	var open []string
	byID := map[string]*Scan{}
	for _, s := range scans {
		if s.Open() {
			open = append(open, s.ID)
			byID[s.ID] = s
		}
	}
	if len(open) == 0 {
		return nil
	}
	rows, err := h.m.DB.Jobs.Query(ctx, `SELECT scan_id::text, COALESCE(sum(ports_probed), 0), COALESCE(sum(ports_total), 0)
		FROM jobs WHERE scan_id = ANY ($1::uuid[]) GROUP BY scan_id`, open)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var probed, total int64
		if err := rows.Scan(&id, &probed, &total); err != nil {
			return err
		}
		if total > 0 {
			byID[id].Completion = min(100, 100*float64(probed)/float64(total))
		}
	}
	return rows.Err()
}

func (h *handlers) get(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.m.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	p, err := progressOf(ctx, h.m.DB.Jobs, s, h.m.Clock.Now())
	if err != nil {
		return err
	}
	js, err := jobs.ListByScan(ctx, h.m.DB.Jobs, s.ID)
	if err != nil {
		return err
	}
	views := make([]*JobView, len(js))
	for i, j := range js {
		views[i] = &JobView{ID: j.ID, Seq: j.Seq, Kind: j.Kind, ScannerID: j.ScannerID, Status: j.Status, Attempts: j.Attempts,
			HostsTotal: j.HostsTotal, HostsDone: j.HostsDone, PortsTotal: j.PortsTotal, PortsProbed: j.PortsProbed,
			ProgressAt: j.ProgressAt, Error: j.Error, Partial: j.Status == jobs.Failed || j.Status == jobs.Cancelled}
	}
	return c.JSON(http.StatusOK, Detail{Scan: s, Progress: p, Jobs: views})
}

func (h *handlers) cancel(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	now := h.m.Clock.Now()
	s, err := cancel(ctx, tx, c.Param("id"), now)
	if err != nil {
		return err
	}
	app.ChangeFrom(ctx).AfterCommit(func(ctx context.Context) {
		if err := jobs.CancelScan(ctx, h.m.DB.Jobs, s.ID, now); err != nil {
			h.m.Log.Error("cancelling a scan's jobs; the dispatcher will retry", "scan", s.ID, "err", err)
		}
	})
	s.Scope = nil
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) diff(c echo.Context) error {
	ctx := c.Request().Context()
	to, err := Get(ctx, h.m.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	var from *Scan
	if against := c.QueryParam("against"); against != "" {
		if from, err = Get(ctx, h.m.DB.Config, against); err != nil {
			return app.IfNotFound(err, app.Invalid("against", "unknown_scan", "no scan with that id"))
		}
	} else if from, err = previous(ctx, h.m.DB.Config, to); err != nil {
		return err
	}
	if from.CreatedAt.After(to.CreatedAt) {
		from, to = to, from
	}
	d, err := results.DiffScans(ctx, h.m.DB.Results, from.ID, to.ID, from.Mode == jobs.KindVantage && to.Mode == jobs.KindVantage)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *handlers) vantage(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.m.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := results.CompareVantage(ctx, h.m.DB.Results, s.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func bindHistory(c echo.Context) (results.HistoryQuery, error) {
	var q results.HistoryQuery
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
		return q, app.Invalid("limit", "invalid_query", "a query parameter is malformed")
	}
	return q, nil
}

func (h *handlers) history(c echo.Context) error {
	q, err := bindHistory(c)
	if err != nil {
		return err
	}
	page, err := results.History(c.Request().Context(), h.m.DB.Results, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// export streams observations as CSV or a JSON array, one row at a time.
func (h *handlers) export(c echo.Context) error {
	q, err := bindHistory(c)
	if err != nil {
		return err
	}
	if q.Format == "" {
		q.Format = "csv"
	}
	if q.Format != "csv" && q.Format != "json" {
		return app.Invalid("format", "invalid_format", "format must be csv or json")
	}
	if err := results.CheckHistoryQuery(q); err != nil {
		return err
	}
	ctx := c.Request().Context()
	detail := map[string]any{"subnet": q.Subnet, "ports": q.Ports, "scanner": q.Scanner, "scan": q.Scan, "from": q.From, "to": q.To, "format": q.Format}
	if err := audit.RecordNow(ctx, h.m.DB.Config, audit.Entry{Action: "results.export", ResourceType: "results", Detail: detail}); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="mipo-results-%s.%s"`, time.Now().UTC().Format("20060102T150405Z"), q.Format))
	var write func(results.Observed) error
	var finish func()
	if q.Format == "csv" {
		res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		w := csv.NewWriter(res)
		w.Write([]string{"observed_at", "address", "port", "service", "scan_id", "job_id", "scanner_id", "rtt_us"})
		write = func(o results.Observed) error {
			rtt := ""
			if o.RTTMicros != nil {
				rtt = strconv.Itoa(*o.RTTMicros)
			}
			return w.Write([]string{o.ObservedAt.Format(time.RFC3339Nano), o.Address, strconv.Itoa(o.Port), o.Service, o.ScanID, o.JobID, o.ScannerID, rtt})
		}
		finish = w.Flush
	} else {
		res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		first := true
		res.Write([]byte("["))
		write = func(o results.Observed) error {
			b, err := json.Marshal(o)
			if err != nil {
				return err
			}
			if !first {
				res.Write([]byte(",\n"))
			}
			first = false
			_, err = res.Write(b)
			return err
		}
		finish = func() { res.Write([]byte("]\n")) }
	}
	res.WriteHeader(http.StatusOK)
	if err := results.EachObservation(ctx, h.m.DB.Results, q, write); err != nil {
		h.m.Log.Error("results export aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
	finish()
	return nil
}

func (h *handlers) timeDiff(c echo.Context) error {
	ctx := c.Request().Context()
	tmpl := c.QueryParam("template")
	parse := func(field, v string, def time.Time) (time.Time, error) {
		if v == "" && !def.IsZero() {
			return def, nil
		}
		return app.ParseTime(field, v)
	}
	fromT, err := parse("from", c.QueryParam("from"), time.Time{})
	if err != nil {
		return err
	}
	toT, err := parse("to", c.QueryParam("to"), h.m.Clock.Now())
	if err != nil {
		return err
	}
	if tmpl == "" {
		return app.Invalid("template", "required", "give the template (id) whose scans to compare")
	}
	from, err := latestAt(ctx, h.m.DB.Config, tmpl, fromT, "from")
	if err != nil {
		return err
	}
	to, err := latestAt(ctx, h.m.DB.Config, tmpl, toT, "to")
	if err != nil {
		return err
	}
	d, err := results.DiffScans(ctx, h.m.DB.Results, from.ID, to.ID, from.Mode == jobs.KindVantage && to.Mode == jobs.KindVantage)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *handlers) timeline(c echo.Context) error {
	ctx := c.Request().Context()
	addr, err := netip.ParseAddr(c.QueryParam("address"))
	if err != nil || addr.Zone() != "" {
		return app.Invalid("address", "invalid_address", "address must be an IPv4 or IPv6 address")
	}
	args := []any{}
	where := "status = 'completed'"
	if t := c.QueryParam("template"); t != "" {
		if _, err := uuid.Parse(t); err != nil {
			return app.Invalid("template", "invalid_id", "template must be an id")
		}
		where += " AND template_id = $1::uuid"
		args = append(args, t)
	}
	rows, err := h.m.DB.Config.Query(ctx, `SELECT id::text, finished_at FROM scans WHERE `+where+` ORDER BY finished_at`, args...)
	if err != nil {
		return err
	}
	var refs []results.ScanRef
	for rows.Next() {
		var r results.ScanRef
		if err := rows.Scan(&r.ID, &r.At); err != nil {
			rows.Close()
			return err
		}
		refs = append(refs, r)
	}
	rows.Close()
	ports, err := results.Timeline(ctx, h.m.DB.Results, addr, refs)
	if err != nil {
		return err
	}
	if ports == nil {
		ports = []results.PortTimeline{}
	}
	return c.JSON(http.StatusOK, Timeline{Address: addr.Unmap().String(), Scans: len(refs), Ports: ports})
}

func (h *handlers) listSchedules(c echo.Context) error {
	l, err := app.ParseList(c, scheduleSorts...)
	if err != nil {
		return err
	}
	page, err := listSchedules(c.Request().Context(), h.m.DB.Config, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getSchedule(c echo.Context) error {
	s, err := getSchedule(c.Request().Context(), h.m.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) createSchedule(c echo.Context) error {
	var in ScheduleInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := createSchedule(ctx, tx, in, h.m.Clock.Now(), h.rnd)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "schedule.create", ResourceType: "schedule", ResourceID: s.ID, After: s}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s)
}

func (h *handlers) updateSchedule(c echo.Context) error {
	var in ScheduleUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := updateSchedule(ctx, tx, c.Param("id"), in, h.m.Clock.Now(), h.rnd)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "schedule.update", ResourceType: "schedule", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) deleteSchedule(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := getSchedule(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM schedules WHERE id = $1`, s.ID); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "schedule.delete", ResourceType: "schedule", ResourceID: s.ID, Before: s}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
