package alarms

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) routeRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/alarm-routes", Scope: "alarms:view", Handler: h.listRoutes, Response: app.Page[*Route]{},
			Summary: "Routes: which transitions of which severities and rules go to which channel"},
		{Method: http.MethodPost, Path: "/api/v1/alarm-routes", Scope: "alarms:manage", Handler: auditapi.Handler(http.StatusCreated, h.createRoute), Request: RouteInput{}, Response: Route{},
			Status: http.StatusCreated, Summary: "Create a route"},
		{Method: http.MethodPatch, Path: "/api/v1/alarm-routes/:id", Scope: "alarms:manage", Handler: auditapi.Handler(http.StatusOK, h.updateRoute), Request: RouteUpdate{}, Response: Route{},
			Summary: "Change a route; absent fields are left as they are"},
		{Method: http.MethodDelete, Path: "/api/v1/alarm-routes/:id", Scope: "alarms:manage", Handler: auditapi.Handler(http.StatusNoContent, h.deleteRoute), Status: http.StatusNoContent,
			Summary: "Delete a route"},
	}
}

func (h *handlers) listRoutes(c echo.Context) error {
	list, err := listRoutes(c.Request().Context(), h.svc.DB.Config)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[*Route]{Items: list})
}

func (h *handlers) createRoute(ctx context.Context, tx pgx.Tx, c echo.Context, in RouteInput) (any, auditapi.Entry, error) {
	r, err := createRoute(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return r, auditapi.Entry{Action: "alarm_route.create", ResourceType: "alarm_route", ResourceID: r.ID, After: r}, nil
}

func (h *handlers) updateRoute(ctx context.Context, tx pgx.Tx, c echo.Context, in RouteUpdate) (any, auditapi.Entry, error) {
	before, after, err := updateRoute(ctx, tx, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "alarm_route.update", ResourceType: "alarm_route", ResourceID: after.ID, Before: before, After: after}, nil
}

func (h *handlers) deleteRoute(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
	r, err := deleteRoute(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "alarm_route.delete", ResourceType: "alarm_route", ResourceID: r.ID, Before: r}, nil
}
