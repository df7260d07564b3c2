package home

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

func (h *handlers) routes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/home", Scope: app.SignedIn, Handler: h.home, Response: Home{},
			Summary: "The state at a glance: scanners, running and latest scans with their outcomes, changes per day, next scheduled runs; each part only for whoever may see it"},
	}
}

func (h *handlers) home(c echo.Context) error {
	ctx := c.Request().Context()
	p := app.PrincipalFrom(ctx)
	can := func(scope string) bool { return p != nil && p.Can(scope) }
	home, err := Build(ctx, Sources{Config: h.m.ConfigDB, Results: h.m.ResultsDB}, can, h.m.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, home)
}
