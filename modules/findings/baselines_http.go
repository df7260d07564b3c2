package findings

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) baselineRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/baselines", Scope: "findings:view", Handler: h.listBaselines, Response: app.Page[Baseline]{},
			Summary: "Baselines: the ports expected per subnet group, subnet, CIDR or address"},
		{Method: http.MethodPost, Path: "/api/v1/baselines", Scope: "baselines:write", Handler: auditapi.Handler(http.StatusCreated, h.createBaseline),
			Request: BaselineInput{}, Response: Baseline{}, Status: http.StatusCreated, Summary: "Create a baseline"},
		{Method: http.MethodGet, Path: "/api/v1/baselines/:id", Scope: "findings:view", Handler: h.getBaseline, Response: Baseline{},
			Summary: "One baseline"},
		{Method: http.MethodPut, Path: "/api/v1/baselines/:id", Scope: "baselines:write", Handler: auditapi.Handler(http.StatusOK, h.updateBaseline),
			Request: BaselineInput{}, Response: Baseline{}, Summary: "Change a baseline (a new version)"},
		{Method: http.MethodDelete, Path: "/api/v1/baselines/:id", Scope: "baselines:write", Handler: auditapi.Handler(http.StatusNoContent, h.deleteBaseline),
			Status: http.StatusNoContent, Summary: "Delete a baseline (its versions are kept)"},
		{Method: http.MethodGet, Path: "/api/v1/baselines/:id/versions", Scope: "findings:view", Handler: h.baselineVersions,
			Response: app.Page[BaselineVersion]{}, Summary: "Every version of a baseline, oldest first"},
	}
}

func (h *handlers) listBaselines(c echo.Context) error {
	bs, err := listBaselines(c.Request().Context(), h.m.ConfigDB)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[*Baseline]{Items: bs})
}

func (h *handlers) getBaseline(c echo.Context) error {
	b, err := getBaseline(c.Request().Context(), h.m.ConfigDB, c.Param("id"), false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

func (h *handlers) baselineVersions(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := getBaseline(ctx, h.m.ConfigDB, c.Param("id"), false); err != nil {
		vs, verr := baselineVersions(ctx, h.m.ConfigDB, c.Param("id"))
		if verr != nil || len(vs) == 0 {
			return err // never existed
		}
		return c.JSON(http.StatusOK, app.Page[BaselineVersion]{Items: vs})
	}
	vs, err := baselineVersions(ctx, h.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[BaselineVersion]{Items: vs})
}

func (h *handlers) createBaseline(ctx context.Context, tx pgx.Tx, c echo.Context, in BaselineInput) (any, auditapi.Entry, error) {
	b, err := createBaseline(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return b, auditapi.Entry{Action: "baseline.create", ResourceType: "baseline", ResourceID: b.ID, After: b}, nil
}

func (h *handlers) updateBaseline(ctx context.Context, tx pgx.Tx, c echo.Context, in BaselineInput) (any, auditapi.Entry, error) {
	before, after, err := updateBaseline(ctx, tx, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "baseline.update", ResourceType: "baseline", ResourceID: after.ID, Before: before, After: after}, nil
}

func (h *handlers) deleteBaseline(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
	b, err := deleteBaseline(ctx, tx, c.Param("id"), h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "baseline.delete", ResourceType: "baseline", ResourceID: b.ID, Before: b}, nil
}
