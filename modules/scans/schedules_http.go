package scans

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) scheduleRoutes() []app.Route {
	get, post := http.MethodGet, http.MethodPost
	return []app.Route{
		{Method: get, Path: "/api/v1/schedules", Scope: "scans:view", Handler: h.listSchedules, Query: app.ListQuery{}, Response: app.Page[*Schedule]{},
			Summary: "List schedules with their next runs"},
		{Method: post, Path: "/api/v1/schedules", Scope: "scans:schedule", Handler: auditapi.Handler(http.StatusCreated, h.createSchedule), Request: ScheduleInput{}, Response: Schedule{}, Status: http.StatusCreated,
			Summary: "Attach a schedule to a template or template group"},
		{Method: get, Path: "/api/v1/schedules/:id", Scope: "scans:view", Handler: h.getSchedule, Response: Schedule{},
			Summary: "One schedule"},
		{Method: http.MethodPatch, Path: "/api/v1/schedules/:id", Scope: "scans:schedule", Handler: auditapi.Handler(http.StatusOK, h.updateSchedule), Request: ScheduleUpdate{}, Response: Schedule{},
			Summary: "Change a schedule's name, timing or enabled state"},
		{Method: http.MethodDelete, Path: "/api/v1/schedules/:id", Scope: "scans:schedule", Handler: auditapi.Handler(http.StatusNoContent, h.deleteSchedule), Status: http.StatusNoContent,
			Summary: "Delete a schedule (its scans stay)"},
	}
}

func (h *handlers) listSchedules(c echo.Context) error {
	l, err := app.ParseList(c, scheduleSorts...)
	if err != nil {
		return err
	}
	page, err := listSchedules(c.Request().Context(), h.m.ConfigDB, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getSchedule(c echo.Context) error {
	s, err := getSchedule(c.Request().Context(), h.m.ConfigDB, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) createSchedule(ctx context.Context, tx pgx.Tx, _ echo.Context, in ScheduleInput) (any, auditapi.Entry, error) {
	s, err := createSchedule(ctx, tx, in, h.m.Clock.Now(), h.rnd)
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return s, auditapi.Entry{Action: "schedule.create", ResourceType: "schedule", ResourceID: s.ID, After: s}, nil
}

func (h *handlers) updateSchedule(ctx context.Context, tx pgx.Tx, c echo.Context, in ScheduleUpdate) (any, auditapi.Entry, error) {
	before, after, err := updateSchedule(ctx, tx, c.Param("id"), in, h.m.Clock.Now(), h.rnd)
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "schedule.update", ResourceType: "schedule", ResourceID: after.ID, Before: before, After: after}, nil
}

func (h *handlers) deleteSchedule(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
	s, err := getSchedule(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM schedules WHERE id = $1`, s.ID); err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "schedule.delete", ResourceType: "schedule", ResourceID: s.ID, Before: s}, nil
}
