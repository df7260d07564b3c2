package settings

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
)

type handlers struct{ m *app.Mount }

func (h handlers) routes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/settings", Scope: "settings:view", Handler: h.get,
			Summary: "The system settings", Response: Settings{}},
		{Method: http.MethodPatch, Path: "/api/v1/settings", Scope: "settings:write", Handler: h.patch,
			Summary: "Change system settings; absent fields are left as they are", Request: Patch{}, Response: Settings{}},
	}
}

func (h handlers) get(c echo.Context) error {
	s, err := Load(c.Request().Context(), h.m.DB.Config)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h handlers) patch(c echo.Context) error {
	var p Patch
	if err := app.BindJSON(c, &p); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := Apply(ctx, tx, p)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "settings.update", ResourceType: "settings", Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}
