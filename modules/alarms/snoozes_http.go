package alarms

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) snoozeRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/alarm-snoozes", Scope: "alarms:view", Handler: h.listSnoozes, Query: SnoozeQuery{}, Response: app.Page[Snooze]{},
			Summary: "Snoozes (maintenance windows), latest ending first"},
		{Method: http.MethodPost, Path: "/api/v1/alarm-snoozes", Scope: "alarms:manage", Handler: auditapi.Handler(http.StatusCreated, h.createSnooze), Request: SnoozeInput{}, Response: Snooze{},
			Status: http.StatusCreated, Summary: "Snooze a rule or one alarm key until a time, with a reason: its alarms still open but notify nobody"},
		{Method: http.MethodDelete, Path: "/api/v1/alarm-snoozes/:id", Scope: "alarms:manage", Handler: auditapi.Handler(http.StatusNoContent, h.deleteSnooze), Status: http.StatusNoContent,
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

func (h *handlers) createSnooze(ctx context.Context, tx pgx.Tx, c echo.Context, in SnoozeInput) (any, auditapi.Entry, error) {
	s, err := createSnooze(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return s, auditapi.Entry{Action: "alarm_snooze.create", ResourceType: "alarm_snooze", ResourceID: s.ID, After: s}, nil
}

func (h *handlers) deleteSnooze(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
	s, err := deleteSnooze(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "alarm_snooze.delete", ResourceType: "alarm_snooze", ResourceID: s.ID, Before: s}, nil
}
