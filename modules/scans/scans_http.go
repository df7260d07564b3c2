package scans

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/jobs/jobsapi"
)

func (h *handlers) scanRoutes() []app.Route {
	get, post := http.MethodGet, http.MethodPost
	return []app.Route{
		{Method: post, Path: "/api/v1/scans", Scope: "scans:execute", Handler: h.launch, Request: Launch{}, Response: Launched{}, Status: http.StatusCreated,
			Tx:      app.TxOwn, // the scope is resolved from a snapshot before the write transaction begins
			Summary: "Launch a template (or every template of a group) now; returns at once with the recorded scans"},
		{Method: get, Path: "/api/v1/scans", Scope: "scans:view", Handler: h.list, Query: ListQuery{}, Response: app.Page[*Scan]{},
			Summary: "List scans; filter by status, scanner, template and launch time"},
		{Method: get, Path: "/api/v1/scans/:id", Scope: "scans:view", Handler: h.get, Response: Detail{},
			Summary: "A scan with its frozen scope, live progress and jobs"},
		{Method: post, Path: "/api/v1/scans/:id/cancel", Scope: "scans:execute", Handler: h.cancel, Response: Scan{},
			Summary: "Cancel a pending or running scan"},
	}
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

func (h *handlers) launch(c echo.Context) error {
	var in Launch
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, now := c.Request().Context(), h.m.Clock.Now()
	r, err := resolveLaunch(ctx, h.m.ConfigDB, in, now)
	if err != nil {
		return err
	}
	var scans []*Scan
	if err := app.InTx(ctx, h.m.ConfigDB, func(ctx context.Context, ch *app.Change) (err error) {
		scans, err = recordLaunch(ctx, ch.Tx, r, nil, now, h.maxProbes)
		return err
	}); err != nil {
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
	page, err := list(c.Request().Context(), h.m.ConfigDB, l, q)
	if err != nil {
		return err
	}
	if err := h.liveCompletion(c.Request().Context(), page.Items); err != nil {
		return err
	}
	if err := WithOutcomes(c.Request().Context(), h.m.ResultsDB, page.Items...); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// liveCompletion fills in the completion of open scans from their jobs, in one query.
func (h *handlers) liveCompletion(ctx context.Context, scans []*Scan) error {
	var open []string
	for _, s := range scans {
		if s.Open() {
			open = append(open, s.ID)
		}
	}
	done, err := jobsapi.ScanCompletion(ctx, h.m.JobsDB, open)
	if err != nil {
		return err
	}
	for _, s := range scans {
		if pct, ok := done[s.ID]; ok && s.Open() {
			s.Completion = pct
		}
	}
	return nil
}

func (h *handlers) get(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	p, err := progressOf(ctx, h.m.JobsDB, s, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := WithOutcomes(ctx, h.m.ResultsDB, s); err != nil {
		return err
	}
	js, err := jobsapi.ListByScan(ctx, h.m.JobsDB, s.ID)
	if err != nil {
		return err
	}
	views := make([]*JobView, len(js))
	for i, j := range js {
		views[i] = &JobView{ID: j.ID, Seq: j.Seq, Kind: j.Kind, ScannerID: j.ScannerID, Status: j.Status, Attempts: j.Attempts,
			HostsTotal: j.HostsTotal, HostsDone: j.HostsDone, PortsTotal: j.PortsTotal, PortsProbed: j.PortsProbed,
			ProgressAt: j.ProgressAt, Error: j.Error, Partial: j.Status == jobsapi.Failed || j.Status == jobsapi.Cancelled}
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
		if err := jobsapi.CancelScan(ctx, h.m.JobsDB, s.ID, now); err != nil {
			h.m.Log.Error("cancelling a scan's jobs; the dispatcher will retry", "scan", s.ID, "err", err)
		}
	})
	s.Scope = nil
	return c.JSON(http.StatusOK, s)
}
