package results

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/config/configapi"
)

func (h *handlers) openRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: "/api/v1/results/open", Scope: "results:view", Handler: h.open, Query: OpenQuery{}, Response: app.Page[OpenPort]{},
			Summary: "What is open now: one row per scanner, address and port, with when it was first and last seen; filter by subnet, subnet group, template, ports and scanner"},
		{Method: get, Path: "/api/v1/results/open/export", Scope: "results:export", Handler: h.openExport, Query: OpenQuery{}, Produces: "text/csv",
			Summary: "Download what is open now as CSV or JSON"},
	}
}

// openScope reads and checks an open-now query, resolving its subnet group.
func (h *handlers) openScope(c echo.Context) (OpenScope, error) {
	q := OpenQuery{Subnet: c.QueryParam("subnet"), Group: c.QueryParam("group"), Template: c.QueryParam("template"),
		Ports: c.QueryParam("ports"), Scanner: c.QueryParam("scanner"), Format: c.QueryParam("format")}
	if err := CheckOpenQuery(q); err != nil {
		return OpenScope{}, err
	}
	s := OpenScope{Query: q}
	if q.Group != "" {
		cidrs, err := configapi.SubnetGroupCIDRs(c.Request().Context(), h.m.ConfigDB, q.Group, "group")
		if err != nil {
			return s, err
		}
		s.GroupCIDRs = cidrs
	}
	return s, nil
}

func (h *handlers) open(c echo.Context) error {
	l, err := app.ParseList(c, OpenSorts...)
	if err != nil {
		return err
	}
	s, err := h.openScope(c)
	if err != nil {
		return err
	}
	page, err := OpenNow(c.Request().Context(), h.m.ConfigDB, h.m.ResultsDB, s, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// openExport streams what is open now as CSV or a JSON array, one row at a time.
func (h *handlers) openExport(c echo.Context) error {
	s, err := h.openScope(c)
	if err != nil {
		return err
	}
	q := s.Query
	if q.Format == "" {
		q.Format = "csv"
	}
	if q.Format != "csv" && q.Format != "json" {
		return app.Invalid("format", "invalid_format", "format must be csv or json")
	}
	ctx := c.Request().Context()
	detail := map[string]any{"subnet": q.Subnet, "group": q.Group, "template": q.Template, "ports": q.Ports, "scanner": q.Scanner, "format": q.Format}
	if err := auditapi.RecordNow(ctx, h.m.ConfigDB, auditapi.Entry{Action: "results.open.export", ResourceType: "results", Detail: detail}); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="mipo-open-%s.%s"`, h.m.Clock.Now().UTC().Format("20060102T150405Z"), q.Format))
	var write func(OpenPort) error
	var finish func()
	if q.Format == "csv" {
		res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		w := app.NewCSVWriter(res)
		w.Write([]string{"address", "port", "service", "scanner_id", "first_seen", "last_seen", "scan_id"})
		write = func(o OpenPort) error {
			return w.Write([]string{o.Address, strconv.Itoa(o.Port), o.Service, o.ScannerID, o.FirstSeen.Format(time.RFC3339Nano), o.LastSeen.Format(time.RFC3339Nano), o.ScanID})
		}
		finish = w.Flush
	} else {
		res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		w := app.NewJSONArrayWriter(res)
		write = func(o OpenPort) error { return w.Write(o) }
		finish = func() { w.Close() }
	}
	res.WriteHeader(http.StatusOK)
	if err := EachOpen(ctx, h.m.ConfigDB, h.m.ResultsDB, s, write); err != nil {
		h.m.Log.Error("open ports export aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
	finish()
	return nil
}
