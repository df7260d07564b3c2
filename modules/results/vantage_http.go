package results

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

func (h *handlers) vantageRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/scans/:id/vantage", Scope: "results:view", Handler: h.vantage, Response: Vantage{},
			Summary: "What each scanner of a vantage scan saw, side by side"},
	}
}

func (h *handlers) vantage(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := scanSource().Scan(ctx, h.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := CompareVantage(ctx, h.m.ResultsDB, s.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
