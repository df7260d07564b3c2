package results

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) changesRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/results/changes", Scope: "results:view", Handler: h.changes, Query: ChangesQuery{}, Response: Changes{},
			Summary:     "What opened and closed across templates in a time window (default the last seven days), with counts per day",
			Description: "Each scan that finished in the window is compared with its template's previous completed scan, counting only what both covered."},
		{Method: http.MethodGet, Path: "/api/v1/results/changes/export", Scope: "results:export", Handler: h.changesExport, Query: ChangesQuery{}, Produces: "text/csv",
			Summary: "Download a window's changes as CSV or JSON: the same rows, in the same order, as the changes list"},
		{Method: http.MethodGet, Path: "/api/v1/scans/:id/diff/export", Scope: "results:export", Handler: h.diffExport, Query: DiffExportQuery{}, Produces: "text/csv",
			Summary: "Download a scan's diff as CSV or JSON"},
	}
}

// DiffExportQuery picks the diff to download and its format.
type DiffExportQuery struct {
	Against string `query:"against" json:"against,omitempty" doc:"The scan to compare with (id); default: the previous completed scan of the same template."`
	Format  string `query:"format" json:"format,omitempty" doc:"csv (default) or json."`
}

func (h *handlers) bindChanges(c echo.Context) (ChangesQuery, changesFilter, error) {
	var q ChangesQuery
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
		return q, changesFilter{}, app.Invalid("from", "invalid_query", "a query parameter is malformed")
	}
	f, err := parseChanges(q, h.m.Clock.Now())
	return q, f, err
}

func (h *handlers) changes(c echo.Context) error {
	_, f, err := h.bindChanges(c)
	if err != nil {
		return err
	}
	out, err := ChangesBetween(c.Request().Context(), h.m.ConfigDB, h.m.ResultsDB, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func exportFormat(v string) (string, error) {
	switch v {
	case "":
		return "csv", nil
	case "csv", "json":
		return v, nil
	}
	return "", app.Invalid("format", "invalid_format", "format must be csv or json")
}

// changesExport answers the rows of the changes list: CSV in ChangeColumns, or the JSON array
// of its items, so a spreadsheet and a script read exactly what the page showed.
func (h *handlers) changesExport(c echo.Context) error {
	q, f, err := h.bindChanges(c)
	if err != nil {
		return err
	}
	format, err := exportFormat(q.Format)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	out, err := ChangesBetween(ctx, h.m.ConfigDB, h.m.ResultsDB, f)
	if err != nil {
		return err
	}
	detail := map[string]any{"from": f.from, "to": f.to, "template": q.Template, "kind": q.Kind, "port": q.Port, "subnet": q.Subnet, "format": format, "rows": len(out.Items)}
	if err := auditapi.RecordNow(ctx, h.m.ConfigDB, auditapi.Entry{Action: "results.changes_export", ResourceType: "results", Detail: detail}); err != nil {
		return err
	}
	rows := make([][]string, len(out.Items))
	for i, e := range out.Items {
		rows[i] = e.Row()
	}
	return sendExport(c, "mipo-changes", format, ChangeColumns, rows, out.Items)
}

// diffExport downloads what /scans/:id/diff answers: one row per opened or closed port.
func (h *handlers) diffExport(c echo.Context) error {
	format, err := exportFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
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
	if from.LaunchedAt.After(to.LaunchedAt) {
		from, to = to, from
	}
	d, err := DiffScans(ctx, h.m.ResultsDB, from.ID, to.ID, from.Vantage && to.Vantage)
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.m.ConfigDB, auditapi.Entry{Action: "results.diff_export", ResourceType: "scan", ResourceID: to.ID,
		Detail: map[string]any{"from": from.ID, "to": to.ID, "format": format}}); err != nil {
		return err
	}
	type row struct {
		Kind string `json:"change" doc:"opened or closed"`
		Change
	}
	var items []row
	var rows [][]string
	for _, kind := range []string{"opened", "closed"} {
		list := d.Opened
		if kind == "closed" {
			list = d.Closed
		}
		for _, ch := range list {
			items = append(items, row{kind, ch})
			rows = append(rows, []string{kind, ch.ScannerID, ch.Address, fmt.Sprint(ch.Port), ch.Service})
		}
	}
	if items == nil {
		items = []row{}
	}
	return sendExport(c, "mipo-diff-"+to.ID, format, []string{"change", "scanner_id", "address", "port", "service"}, rows, items)
}

// sendExport writes a download: CSV through the one CSV writer, or JSON.
func sendExport(c echo.Context, name, format string, header []string, rows [][]string, items any) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name, time.Now().UTC().Format("20060102T150405Z"), format))
	if format == "json" {
		b, err := json.Marshal(items)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(b, '\n'))
	}
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.WriteHeader(http.StatusOK)
	w := app.NewCSVWriter(res)
	w.Write(header)
	for _, r := range rows {
		w.Write(r)
	}
	w.Flush()
	return w.Error()
}
