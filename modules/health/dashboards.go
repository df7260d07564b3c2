package health

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
)

// WidgetKinds are the widgets a dashboard may hold.
var WidgetKinds = []string{"scan-activity", "open-alarms", "fleet-status", "component-status", "recent-changes", "audit-activity", "results-query"}

// gridColumns is the grid's width; widgets are placed in whole cells.
const gridColumns = 12

// Widget is one tile on the grid.
type Widget struct {
	Kind    string         `json:"kind" doc:"scan-activity, open-alarms, fleet-status, component-status, recent-changes, audit-activity or results-query."`
	X       int            `json:"x" doc:"Column, 0 to 11."`
	Y       int            `json:"y" doc:"Row, 0 or more."`
	W       int            `json:"w" doc:"Width in columns, 1 to 12."`
	H       int            `json:"h" doc:"Height in rows, 1 to 12."`
	Options map[string]any `json:"options,omitempty" doc:"Widget settings, such as the results query's filter."`
}

// DashboardInput is what a user sends to create or change a dashboard.
type DashboardInput struct {
	Name    string   `json:"name" maxlen:"100"`
	Shared  bool     `json:"shared" doc:"Shown to every signed-in user; only its owner changes it."`
	Widgets []Widget `json:"widgets" doc:"At most 50."`
}

// Dashboard is a stored dashboard, or a built-in layout (Builtin, no owner).
type Dashboard struct {
	ID        string    `json:"id"`
	OwnerID   string    `json:"owner_id"`
	Name      string    `json:"name"`
	Shared    bool      `json:"shared"`
	Widgets   []Widget  `json:"widgets"`
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// check names the first bad field: known kinds, on the grid, no two widgets overlapping.
func (in DashboardInput) check() error {
	if in.Name == "" {
		return app.Invalid("name", "required", "a dashboard needs a name")
	}
	if len(in.Widgets) > 50 {
		return app.Invalid("widgets", "too_many", "a dashboard holds at most 50 widgets")
	}
	for i, w := range in.Widgets {
		switch {
		case !slices.Contains(WidgetKinds, w.Kind):
			return app.Invalid("widgets.kind", "unknown", "unknown widget kind "+w.Kind)
		case w.W < 1 || w.H < 1 || w.H > 12 || w.X < 0 || w.Y < 0 || w.Y > 1000 || w.X+w.W > gridColumns:
			return app.Invalid("widgets.position", "off_grid", "a widget must lie on the 12-column grid")
		}
		for _, o := range in.Widgets[:i] {
			if w.X < o.X+o.W && o.X < w.X+w.W && w.Y < o.Y+o.H && o.Y < w.Y+w.H {
				return app.Invalid("widgets.position", "overlap", "two widgets overlap")
			}
		}
	}
	return nil
}

// builtins are the three layouts a user copies and changes.
var builtins = []Dashboard{
	{ID: "network-operations", Name: "Network operations", Builtin: true, Shared: true, Widgets: []Widget{
		{Kind: "component-status", X: 0, Y: 0, W: 6, H: 4}, {Kind: "open-alarms", X: 6, Y: 0, W: 6, H: 4},
		{Kind: "fleet-status", X: 0, Y: 4, W: 8, H: 4}, {Kind: "scan-activity", X: 8, Y: 4, W: 4, H: 4}}},
	{ID: "security-analyst", Name: "Security analyst", Builtin: true, Shared: true, Widgets: []Widget{
		{Kind: "recent-changes", X: 0, Y: 0, W: 8, H: 5}, {Kind: "open-alarms", X: 8, Y: 0, W: 4, H: 5},
		{Kind: "results-query", X: 0, Y: 5, W: 12, H: 5, Options: map[string]any{"query": "state:open"}}}},
	{ID: "compliance-reviewer", Name: "Compliance reviewer", Builtin: true, Shared: true, Widgets: []Widget{
		{Kind: "audit-activity", X: 0, Y: 0, W: 6, H: 5}, {Kind: "recent-changes", X: 6, Y: 0, W: 6, H: 5},
		{Kind: "scan-activity", X: 0, Y: 5, W: 12, H: 3}}},
}

func (h *handlers) dashboardRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/dashboards", Scope: app.SignedIn, Handler: h.listDashboards, Response: app.Page[Dashboard]{},
			Summary: "The built-in layouts, the caller's dashboards and the shared ones"},
		{Method: http.MethodPost, Path: "/api/v1/dashboards", Scope: app.SignedIn, Handler: h.createDashboard, Request: DashboardInput{},
			Response: Dashboard{}, Status: http.StatusCreated, Summary: "Create a dashboard (copy a built-in layout by sending its widgets)"},
		{Method: http.MethodPut, Path: "/api/v1/dashboards/:id", Scope: app.SignedIn, Handler: h.putDashboard, Request: DashboardInput{},
			Response: Dashboard{}, Summary: "Change one of the caller's dashboards: name, sharing, widgets and their places"},
		{Method: http.MethodDelete, Path: "/api/v1/dashboards/:id", Scope: app.SignedIn, Handler: h.deleteDashboard, Status: http.StatusNoContent,
			Summary: "Delete one of the caller's dashboards"},
	}
}

func owner(c echo.Context) string { return app.PrincipalFrom(c.Request().Context()).UserID }

const dashboardCols = `id, owner_id, name, shared, widgets, false, created_at, updated_at`

func (h *handlers) listDashboards(c echo.Context) error {
	rows, err := h.m.ConfigDB.Query(c.Request().Context(), `SELECT `+dashboardCols+` FROM dashboards
		WHERE owner_id = $1 OR shared ORDER BY name, id`, owner(c))
	if err != nil {
		return err
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Dashboard])
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[Dashboard]{Items: append(slices.Clone(builtins), list...)})
}

func bindDashboard(c echo.Context) (DashboardInput, error) {
	var in DashboardInput
	if err := app.BindJSON(c, &in); err != nil {
		return in, err
	}
	if in.Widgets == nil {
		in.Widgets = []Widget{}
	}
	return in, in.check()
}

func (h *handlers) createDashboard(c echo.Context) error {
	in, err := bindDashboard(c)
	if err != nil {
		return err
	}
	ctx, tx, now := c.Request().Context(), app.Tx(c), h.m.Clock.Now()
	d := Dashboard{ID: uuid.NewString(), OwnerID: owner(c), Name: in.Name, Shared: in.Shared, Widgets: in.Widgets, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.Exec(ctx, `INSERT INTO dashboards (id, owner_id, name, shared, widgets, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, d.ID, d.OwnerID, d.Name, d.Shared, d.Widgets, now); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "dashboard.create", ResourceType: "dashboard", ResourceID: d.ID, After: d}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

// mine reads one of the caller's dashboards, locked; another's, or a built-in, is not found.
func mine(ctx context.Context, db app.Querier, id, user string) (Dashboard, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Dashboard{}, app.NotFound("dashboard " + id)
	}
	rows, err := db.Query(ctx, `SELECT `+dashboardCols+` FROM dashboards WHERE id = $1 AND owner_id = $2 FOR UPDATE`, id, user)
	if err != nil {
		return Dashboard{}, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Dashboard])
	if errors.Is(err, pgx.ErrNoRows) {
		return d, app.NotFound("dashboard " + id)
	}
	return d, err
}

func (h *handlers) putDashboard(c echo.Context) error {
	in, err := bindDashboard(c)
	if err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, err := mine(ctx, tx, c.Param("id"), owner(c))
	if err != nil {
		return err
	}
	after := before
	after.Name, after.Shared, after.Widgets, after.UpdatedAt = in.Name, in.Shared, in.Widgets, h.m.Clock.Now()
	if _, err := tx.Exec(ctx, `UPDATE dashboards SET name = $2, shared = $3, widgets = $4, updated_at = $5 WHERE id = $1`,
		after.ID, after.Name, after.Shared, after.Widgets, after.UpdatedAt); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "dashboard.update", ResourceType: "dashboard", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) deleteDashboard(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	d, err := mine(ctx, tx, c.Param("id"), owner(c))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM dashboards WHERE id = $1`, d.ID); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "dashboard.delete", ResourceType: "dashboard", ResourceID: d.ID, Before: d}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
