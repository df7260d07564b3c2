package alarms

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
)

func (h *handlers) routeRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/alarm-routes", Scope: "alarms:view", Handler: h.listRoutes, Response: app.Page[*Route]{},
			Summary: "Routes: which transitions of which severities and rules go to which channel"},
		{Method: http.MethodPost, Path: "/api/v1/alarm-routes", Scope: "alarms:manage", Handler: h.createRoute, Request: RouteInput{}, Response: Route{},
			Status: http.StatusCreated, Summary: "Create a route"},
		{Method: http.MethodPatch, Path: "/api/v1/alarm-routes/:id", Scope: "alarms:manage", Handler: h.updateRoute, Request: RouteUpdate{}, Response: Route{},
			Summary: "Change a route; absent fields are left as they are"},
		{Method: http.MethodDelete, Path: "/api/v1/alarm-routes/:id", Scope: "alarms:manage", Handler: h.deleteRoute, Status: http.StatusNoContent,
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

func (h *handlers) createRoute(c echo.Context) error {
	var in RouteInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	r, err := createRoute(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "alarm_route.create", ResourceType: "alarm_route", ResourceID: r.ID, After: r}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (h *handlers) updateRoute(c echo.Context) error {
	var in RouteUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := updateRoute(ctx, tx, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "alarm_route.update", ResourceType: "alarm_route", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) deleteRoute(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	r, err := deleteRoute(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "alarm_route.delete", ResourceType: "alarm_route", ResourceID: r.ID, Before: r}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
