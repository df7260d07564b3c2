package scans

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
)

func (h *handlers) scheduleRoutes() []app.Route {
	get, post := http.MethodGet, http.MethodPost
	return []app.Route{
		{Method: get, Path: "/api/v1/schedules", Scope: "scans:view", Handler: h.listSchedules, Query: app.ListQuery{}, Response: app.Page[*Schedule]{},
			Summary: "List schedules with their next runs"},
		{Method: post, Path: "/api/v1/schedules", Scope: "scans:schedule", Handler: h.createSchedule, Request: ScheduleInput{}, Response: Schedule{}, Status: http.StatusCreated,
			Summary: "Attach a schedule to a template or template group"},
		{Method: get, Path: "/api/v1/schedules/:id", Scope: "scans:view", Handler: h.getSchedule, Response: Schedule{},
			Summary: "One schedule"},
		{Method: http.MethodPatch, Path: "/api/v1/schedules/:id", Scope: "scans:schedule", Handler: h.updateSchedule, Request: ScheduleUpdate{}, Response: Schedule{},
			Summary: "Change a schedule's name, timing or enabled state"},
		{Method: http.MethodDelete, Path: "/api/v1/schedules/:id", Scope: "scans:schedule", Handler: h.deleteSchedule, Status: http.StatusNoContent,
			Summary: "Delete a schedule (its scans stay)"},
	}
}

func (h *handlers) listSchedules(c echo.Context) error {
	l, err := app.ParseList(c, scheduleSorts...)
	if err != nil {
		return err
	}
	page, err := listSchedules(c.Request().Context(), h.m.DB.Config, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getSchedule(c echo.Context) error {
	s, err := getSchedule(c.Request().Context(), h.m.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) createSchedule(c echo.Context) error {
	var in ScheduleInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := createSchedule(ctx, tx, in, h.m.Clock.Now(), h.rnd)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "schedule.create", ResourceType: "schedule", ResourceID: s.ID, After: s}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s)
}

func (h *handlers) updateSchedule(c echo.Context) error {
	var in ScheduleUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := updateSchedule(ctx, tx, c.Param("id"), in, h.m.Clock.Now(), h.rnd)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "schedule.update", ResourceType: "schedule", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) deleteSchedule(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	s, err := getSchedule(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM schedules WHERE id = $1`, s.ID); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "schedule.delete", ResourceType: "schedule", ResourceID: s.ID, Before: s}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
