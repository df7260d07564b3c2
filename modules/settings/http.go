package settings

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

type handlers struct{ m *app.Mount }

func (h handlers) routes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/settings", Scope: "settings:view", Handler: h.get,
			Summary: "The system settings", Response: Settings{}},
		{Method: http.MethodPatch, Path: "/api/v1/settings", Scope: "settings:write", Handler: auditapi.Handler(http.StatusOK, h.patch),
			Summary: "Change system settings; absent fields are left as they are", Request: Patch{}, Response: Settings{}},
	}
}

func (h handlers) get(c echo.Context) error {
	s, err := Load(c.Request().Context(), h.m.ConfigDB)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h handlers) patch(ctx context.Context, tx pgx.Tx, _ echo.Context, p Patch) (any, auditapi.Entry, error) {
	before, after, err := Apply(ctx, tx, p)
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "settings.update", ResourceType: "settings", Before: before, After: after}, nil
}
