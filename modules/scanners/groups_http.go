package scanners

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) groupRoutes() []app.Route {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []app.Route{
		{Method: get, Path: "/api/v1/scanner-groups", Scope: "scanners:view", Handler: h.listGroups, Query: GroupQuery{}, Response: app.Page[*Group]{},
			Summary: "List scanner groups"},
		{Method: post, Path: "/api/v1/scanner-groups", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusCreated, h.createGroup), Request: GroupInput{}, Response: Group{},
			Status: http.StatusCreated, Summary: "Create a scanner group for a network location"},
		{Method: get, Path: "/api/v1/scanner-groups/:id", Scope: "scanners:view", Handler: h.getGroup, Response: Group{},
			Summary: "One scanner group"},
		{Method: patch, Path: "/api/v1/scanner-groups/:id", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusOK, h.updateGroup), Request: GroupUpdate{}, Response: Group{},
			Summary: "Change a scanner group or its members; absent fields are left as they are"},
		{Method: del, Path: "/api/v1/scanner-groups/:id", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusNoContent, h.deleteGroup), Status: http.StatusNoContent,
			Summary: "Delete a scanner group (its scanners stay)"},
	}
}

func (h *handlers) listGroups(c echo.Context) error {
	l, err := app.ParseList(c, "name", "location", "created_at")
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	if len(q) > 128 {
		return app.Invalid("q", "too_long", "q is at most 128 characters")
	}
	page, err := listGroups(c.Request().Context(), h.pool(), l, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getGroup(c echo.Context) error {
	g, err := GetGroup(c.Request().Context(), h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (h *handlers) createGroup(ctx context.Context, tx pgx.Tx, c echo.Context, in GroupInput) (any, auditapi.Entry, error) {
	g, err := createGroup(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return g, auditapi.Entry{Action: "scanner_group.create", ResourceType: "scanner_group", ResourceID: g.ID, After: g}, nil
}

func (h *handlers) updateGroup(ctx context.Context, tx pgx.Tx, c echo.Context, in GroupUpdate) (any, auditapi.Entry, error) {
	before, after, err := updateGroup(ctx, tx, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "scanner_group.update", ResourceType: "scanner_group", ResourceID: after.ID, Before: before, After: after}, nil
}

func (h *handlers) deleteGroup(ctx context.Context, tx pgx.Tx, c echo.Context, in auditapi.NoBody) (any, auditapi.Entry, error) {
	g, err := deleteGroup(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "scanner_group.delete", ResourceType: "scanner_group", ResourceID: g.ID, Before: g}, nil
}
