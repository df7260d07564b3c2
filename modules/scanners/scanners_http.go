package scanners

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/jobs"
)

func (h *handlers) scannerRoutes() []app.Route {
	get, post, patch := http.MethodGet, http.MethodPost, http.MethodPatch
	return []app.Route{
		{Method: get, Path: "/api/v1/scanners", Scope: "scanners:view", Handler: h.list, Query: ListQuery{}, Response: app.Page[*Scanner]{},
			Summary: "List scanners with their status, last heartbeat, version, metrics and active jobs"},
		{Method: get, Path: "/api/v1/scanners/:id", Scope: "scanners:view", Handler: h.get, Response: Scanner{},
			Summary: "One scanner"},
		{Method: patch, Path: "/api/v1/scanners/:id", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusOK, h.update), Request: Update{}, Response: Scanner{},
			Summary: "Rename a scanner, change its binding or its groups; absent fields are left as they are"},
		{Method: post, Path: "/api/v1/scanners/:id/disable", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusOK, h.setDisabled(true)), Response: Scanner{},
			Summary: "Disable a scanner: it keeps everything, but its requests are refused and it gets no jobs"},
		{Method: post, Path: "/api/v1/scanners/:id/enable", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusOK, h.setDisabled(false)), Response: Scanner{},
			Summary: "Enable a disabled scanner again"},
		{Method: post, Path: "/api/v1/scanners/:id/rotate-key", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusOK, h.rotateKey), Response: NewKey{},
			Summary: "Give a scanner a new API key: the old one stops working at once; the new one is shown once"},
		{Method: get, Path: "/api/v1/scanners/:id/key", Scope: "scanners:manage", Handler: h.key, Response: KeyInfo{}, Sensitive: true,
			Summary: "A scanner's key: its prefix and age, never the secret (an audited read)"},
		{Method: get, Path: "/api/v1/scanners/:id/metrics", Scope: "scanners:view", Handler: h.metrics, Query: MetricsQuery{}, Response: MetricsSeries{},
			Summary: "A scanner's CPU, memory, network I/O and jobs over time, from its heartbeats"},
		{Method: get, Path: "/api/v1/scanners/:id/connections", Scope: "scanners:view", Handler: h.connections, Query: app.ListQuery{}, Response: app.Page[Connection]{},
			Summary: "A scanner's connection history: registered, online, offline, disabled, enabled"},
	}
}

// withActiveJobs fills each scanner's active jobs from the jobs database, in one query.
func (h *handlers) withActiveJobs(ctx context.Context, ss ...*Scanner) error {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	active, err := jobs.ActiveByScanner(ctx, h.m.JobsDB, ids)
	if err != nil {
		return err
	}
	for _, s := range ss {
		s.ActiveJobs = active[s.ID]
	}
	return nil
}

func (h *handlers) list(c echo.Context) error {
	l, err := app.ParseList(c, scannerSorts...)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := list(ctx, h.pool(), l, ListQuery{Status: c.QueryParam("status"), Group: c.QueryParam("group"), Q: c.QueryParam("q")})
	if err != nil {
		return err
	}
	if err := h.withActiveJobs(ctx, page.Items...); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) get(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.withActiveJobs(ctx, s); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) update(ctx context.Context, tx pgx.Tx, c echo.Context, in Update) (any, auditapi.Entry, error) {
	before, after, err := update(ctx, tx, c.Param("id"), in, h.asn, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "scanner.update", ResourceType: "scanner", ResourceID: after.ID, Before: before, After: after}, nil
}

// setDisabled is the change of disable (true) and enable (false).
func (h *handlers) setDisabled(disabled bool) auditapi.Change[auditapi.NoBody] {
	return func(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
		before, after, err := setDisabled(ctx, tx, c.Param("id"), disabled, h.m.Clock.Now())
		if err != nil {
			return nil, auditapi.Entry{}, err
		}
		action, event := "scanner.enable", "scanner.enabled"
		if disabled {
			action, event = "scanner.disable", "scanner.disabled"
		}
		if before.Disabled != after.Disabled {
			app.ChangeFrom(ctx).AfterCommit(func(ctx context.Context) {
				if err := h.m.Events.Emit(ctx, event, after.ID, StatusEvent{ScannerID: after.ID, Name: after.Name, LastSeenAt: after.LastSeenAt}); err != nil {
					h.m.Log.Warn("event not emitted", "event", event, "scanner", after.ID, "err", err)
				}
			})
		}
		return after, auditapi.Entry{Action: action, ResourceType: "scanner", ResourceID: after.ID, Before: before, After: after}, nil
	}
}

func (h *handlers) rotateKey(ctx context.Context, tx pgx.Tx, c echo.Context, in auditapi.NoBody) (any, auditapi.Entry, error) {
	before, out, err := rotateKey(ctx, tx, c.Param("id"), h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return out, auditapi.Entry{Action: "scanner.rotate_key", ResourceType: "scanner", ResourceID: out.Scanner.ID, ResourceName: out.Scanner.Name,
		Before: before, After: out.Scanner, Detail: map[string]any{"old_key": before.KeyPrefix, "new_key": out.Scanner.KeyPrefix, "shown_once": true}}, nil
}

func (h *handlers) key(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.pool(), auditapi.Entry{Action: "scanner.key.read", ResourceType: "scanner", ResourceID: s.ID, ResourceName: s.Name,
		Detail: map[string]any{"key": s.KeyPrefix}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, KeyInfo{ScannerID: s.ID, Prefix: s.KeyPrefix, CreatedAt: s.KeyCreatedAt})
}

func (h *handlers) metrics(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	from, to, points, err := parseWindow(c, h.m.Clock.Now())
	if err != nil {
		return err
	}
	out, err := series(ctx, h.pool(), s.ID, from, to, points)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// parseWindow reads from, to and points: a window of at most a year, 24 hours by default.
func parseWindow(c echo.Context, now time.Time) (from, to time.Time, points int, err error) {
	to, points = now, 240
	if v := c.QueryParam("to"); v != "" {
		if to, err = app.ParseTime("to", v); err != nil {
			return from, to, 0, err
		}
	}
	from = to.Add(-24 * time.Hour)
	if v := c.QueryParam("from"); v != "" {
		if from, err = app.ParseTime("from", v); err != nil {
			return from, to, 0, err
		}
	}
	if !from.Before(to) || to.Sub(from) > 366*24*time.Hour {
		return from, to, 0, app.Invalid("from", "invalid_window", "from must be before to, and at most a year before it")
	}
	if v := c.QueryParam("points"); v != "" {
		if points, err = strconv.Atoi(v); err != nil || points < 10 || points > 1000 {
			return from, to, 0, app.Invalid("points", "invalid_points", "points must be a whole number from 10 to 1000")
		}
	}
	return from, to, points, nil
}

func (h *handlers) connections(c echo.Context) error {
	l, err := app.ParseList(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	page, err := connections(ctx, h.pool(), s.ID, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
