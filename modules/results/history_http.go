package results

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) historyRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/results", Scope: "results:view", Handler: h.history, Query: HistoryQuery{}, Response: app.Page[Observed]{},
			Summary: "Observations, newest first: filter by subnet, ports, scanner, scan and time"},
		{Method: http.MethodGet, Path: "/api/v1/results/export", Scope: "results:export", Handler: h.export, Query: HistoryQuery{}, Produces: "text/csv",
			Summary: "Download observations as CSV or JSON"},
	}
}

func bindHistory(c echo.Context) (HistoryQuery, error) {
	var q HistoryQuery
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
	page, err := History(c.Request().Context(), h.m.ResultsDB, q)
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
	if err := CheckHistoryQuery(q); err != nil {
		return err
	}
	ctx := c.Request().Context()
	detail := map[string]any{"subnet": q.Subnet, "ports": q.Ports, "scanner": q.Scanner, "scan": q.Scan, "from": q.From, "to": q.To, "format": q.Format}
	if err := auditapi.RecordNow(ctx, h.m.ConfigDB, auditapi.Entry{Action: "results.export", ResourceType: "results", Detail: detail}); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="mipo-results-%s.%s"`, time.Now().UTC().Format("20060102T150405Z"), q.Format))
	var write func(Observed) error
	var finish func()
	if q.Format == "csv" {
		res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		w := app.NewCSVWriter(res)
		w.Write([]string{"observed_at", "address", "port", "service", "scan_id", "job_id", "scanner_id", "rtt_us"})
		write = func(o Observed) error {
			rtt := ""
			if o.RTTMicros != nil {
				rtt = strconv.Itoa(*o.RTTMicros)
			}
			return w.Write([]string{o.ObservedAt.Format(time.RFC3339Nano), o.Address, strconv.Itoa(o.Port), o.Service, o.ScanID, o.JobID, o.ScannerID, rtt})
		}
		finish = w.Flush
	} else {
		res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		w := app.NewJSONArrayWriter(res)
		write = func(o Observed) error { return w.Write(o) }
		finish = func() { w.Close() }
	}
	res.WriteHeader(http.StatusOK)
	if err := EachObservation(ctx, h.m.ResultsDB, q, write); err != nil {
		h.m.Log.Error("results export aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
	finish()
	return nil
}
