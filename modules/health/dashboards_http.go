package health

import (
	"context"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) dashboardRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/dashboards", Scope: "dashboards:view", Handler: h.listDashboards, Response: app.Page[Dashboard]{},
			Summary: "The built-in layouts, the caller's dashboards and the shared ones"},
		{Method: http.MethodGet, Path: "/api/v1/dashboards/:id", Scope: "dashboards:view", Handler: h.getDashboard, Response: Dashboard{},
			Summary: "One dashboard: a built-in layout, one of the caller's, or a shared one"},
		{Method: http.MethodPost, Path: "/api/v1/dashboards", Scope: "dashboards:write", Handler: auditapi.Handler(http.StatusCreated, h.createDashboard),
			Request: DashboardInput{}, Response: Dashboard{}, Status: http.StatusCreated,
			Summary: "Create a dashboard (copy a built-in layout by sending its widgets); shared ones need dashboards:share"},
		{Method: http.MethodPut, Path: "/api/v1/dashboards/:id", Scope: "dashboards:write", Handler: auditapi.Handler(http.StatusOK, h.putDashboard),
			Request: DashboardInput{}, Response: Dashboard{},
			Summary: "Change one of the caller's dashboards: name, sharing, widgets and their places; shared ones need dashboards:share"},
		{Method: http.MethodDelete, Path: "/api/v1/dashboards/:id", Scope: "dashboards:write", Handler: auditapi.Handler(http.StatusNoContent, h.deleteDashboard),
			Status: http.StatusNoContent, Summary: "Delete one of the caller's dashboards; shared ones need dashboards:share"},
	}
}

func principal(c echo.Context) *app.Principal { return app.PrincipalFrom(c.Request().Context()) }

func (h *handlers) listDashboards(c echo.Context) error {
	list, err := listDashboards(c.Request().Context(), h.m.ConfigDB, principal(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[Dashboard]{Items: append(slices.Clone(builtins), list...)})
}

func (h *handlers) getDashboard(c echo.Context) error {
	id := c.Param("id")
	if i := slices.IndexFunc(builtins, func(d Dashboard) bool { return d.ID == id }); i >= 0 {
		return c.JSON(http.StatusOK, builtins[i])
	}
	d, err := getDashboard(c.Request().Context(), h.m.ConfigDB, id, principal(c).UserID, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *handlers) createDashboard(ctx context.Context, tx pgx.Tx, c echo.Context, in DashboardInput) (any, auditapi.Entry, error) {
	d, err := createDashboard(ctx, tx, principal(c), in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return d, auditapi.Entry{Action: "dashboard.create", ResourceType: "dashboard", ResourceID: d.ID, After: d}, nil
}

func (h *handlers) putDashboard(ctx context.Context, tx pgx.Tx, c echo.Context, in DashboardInput) (any, auditapi.Entry, error) {
	before, after, err := updateDashboard(ctx, tx, principal(c), c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "dashboard.update", ResourceType: "dashboard", ResourceID: after.ID, Before: before, After: after}, nil
}

func (h *handlers) deleteDashboard(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
	d, err := deleteDashboard(ctx, tx, principal(c), c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "dashboard.delete", ResourceType: "dashboard", ResourceID: d.ID, Before: d}, nil
}
