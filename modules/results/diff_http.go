package results

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

// DiffQuery picks what a scan is compared with.
type DiffQuery struct {
	Against string `query:"against" json:"against,omitempty" doc:"The scan to compare with (id); default: the previous completed scan of the same template."`
	Limit   int    `query:"limit" json:"limit,omitempty" doc:"Changes per page, 1 to 10000 (default 1000)."`
	Cursor  string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
}

// TimeDiffQuery compares a template's state at two points in time.
type TimeDiffQuery struct {
	Template string `query:"template" json:"template" doc:"The template (id)."`
	From     string `query:"from" json:"from" doc:"The earlier time (RFC 3339): the last completed scan by then is compared..."`
	To       string `query:"to" json:"to" doc:"...with the last completed scan by this time (RFC 3339; default now)."`
	Limit    int    `query:"limit" json:"limit,omitempty" doc:"Changes per page, 1 to 10000 (default 1000)."`
	Cursor   string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
}

func (h *handlers) diffRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/scans/:id/diff", Scope: "results:view", Handler: h.scanDiff, Query: DiffQuery{}, Response: Diff{},
			Summary: "What opened and closed since another scan (by default the template's previous one), counting only what both covered"},
		{Method: http.MethodGet, Path: "/api/v1/results/diff", Scope: "results:view", Handler: h.timeDiff, Query: TimeDiffQuery{}, Response: Diff{},
			Summary: "What opened and closed for a template between two points in time"},
	}
}

func (h *handlers) scanDiff(c echo.Context) error {
	ctx := c.Request().Context()
	to, err := scanSource().Scan(ctx, h.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	var from Scan
	if against := c.QueryParam("against"); against != "" {
		if from, err = scanSource().Scan(ctx, h.m.ConfigDB, against); err != nil {
			return app.IfNotFound(err, app.Invalid("against", "unknown_scan", "no scan with that id"))
		}
	} else if from, err = scanSource().Previous(ctx, h.m.ConfigDB, to); err != nil {
		return err
	}
	return h.diff(c, from, to)
}

func (h *handlers) timeDiff(c echo.Context) error {
	ctx := c.Request().Context()
	fromT, err := app.ParseTime("from", c.QueryParam("from"))
	if err != nil {
		return err
	}
	toT := h.m.Clock.Now()
	if v := c.QueryParam("to"); v != "" {
		if toT, err = app.ParseTime("to", v); err != nil {
			return err
		}
	}
	tmpl := c.QueryParam("template")
	if tmpl == "" {
		return app.Invalid("template", "required", "give the template (id) whose scans to compare")
	}
	from, err := scanSource().LatestAt(ctx, h.m.ConfigDB, tmpl, fromT, "from")
	if err != nil {
		return err
	}
	to, err := scanSource().LatestAt(ctx, h.m.ConfigDB, tmpl, toT, "to")
	if err != nil {
		return err
	}
	return h.diff(c, from, to)
}

// diff answers what opened and closed from one scan to the other, the older first; two vantage
// scans compare scanner by scanner.
func (h *handlers) diff(c echo.Context, from, to Scan) error {
	if from.LaunchedAt.After(to.LaunchedAt) {
		from, to = to, from
	}
	limit := 1000
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return app.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 10000")
		}
		limit = n
	}
	d, err := DiffPage(c.Request().Context(), h.m.ResultsDB, DiffRequest{From: from.ID, To: to.ID,
		ByScanner: from.Vantage && to.Vantage, Limit: limit, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
