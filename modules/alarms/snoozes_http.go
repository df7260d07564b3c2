package alarms

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
)

func (h *handlers) snoozeRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/alarm-snoozes", Scope: "alarms:view", Handler: h.listSnoozes, Query: SnoozeQuery{}, Response: app.Page[Snooze]{},
			Summary: "Snoozes (maintenance windows), latest ending first"},
		{Method: http.MethodPost, Path: "/api/v1/alarm-snoozes", Scope: "alarms:manage", Handler: h.createSnooze, Request: SnoozeInput{}, Response: Snooze{},
			Status: http.StatusCreated, Summary: "Snooze a rule or one alarm key until a time, with a reason: its alarms still open but notify nobody"},
		{Method: http.MethodDelete, Path: "/api/v1/alarm-snoozes/:id", Scope: "alarms:manage", Handler: h.deleteSnooze, Status: http.StatusNoContent,
			Summary: "End a snooze now"},
	}
}

func (h *handlers) listSnoozes(c echo.Context) error {
	var at *time.Time
	if c.QueryParam("active") == "true" {
		now := h.m.Clock.Now()
		at = &now
	}
	list, err := listSnoozes(c.Request().Context(), h.svc.DB.Config, at)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[Snooze]{Items: list})
}

func (h *handlers) createSnooze(c echo.Context) error {
	var in SnoozeInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := createSnooze(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "alarm_snooze.create", ResourceType: "alarm_snooze", ResourceID: s.ID, After: s}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s)
}

func (h *handlers) deleteSnooze(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := deleteSnooze(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "alarm_snooze.delete", ResourceType: "alarm_snooze", ResourceID: s.ID, Before: s}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
