package alarms

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
)

// Delivery is one attempt to deliver a notification (or a channel test).
type Delivery struct {
	ID          int64     `json:"id"`
	OutboxID    *string   `json:"message_id" doc:"The notification's webhook-id; the same on each retry. Null for a test."`
	ChannelID   string    `json:"channel_id"`
	ChannelName string    `json:"channel_name"`
	AlarmID     *string   `json:"alarm_id"`
	Kind        string    `json:"kind" doc:"alarm.opened, alarm.escalated, alarm.acknowledged, alarm.resolved, or test."`
	At          time.Time `json:"at"`
	Attempt     int       `json:"attempt"`
	OK          bool      `json:"ok"`
	StatusCode  int       `json:"status_code"`
	LatencyMS   int       `json:"latency_ms"`
	Error       string    `json:"error"`
}

// DeliveryQuery filters the delivery log.
type DeliveryQuery struct {
	Limit     int    `query:"limit" json:"limit,omitempty" doc:"Items per page, 1 to 500 (default 50)."`
	Cursor    string `query:"cursor" json:"cursor,omitempty"`
	ChannelID string `query:"channel_id" json:"channel_id,omitempty"`
	AlarmID   string `query:"alarm_id" json:"alarm_id,omitempty"`
	OK        string `query:"ok" json:"ok,omitempty" doc:"true for delivered attempts, false for failed ones."`
}

func (h *handlers) deliveryRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/alarm-deliveries", Scope: "alarms:view", Handler: h.listDeliveries, Query: DeliveryQuery{},
			Response: app.Page[Delivery]{}, Summary: "The delivery log: every attempt with its status code, latency and error, newest first (read-only)"},
	}
}

func (h *handlers) listDeliveries(c echo.Context) error {
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return app.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 500")
		}
		limit = n
	}
	var w app.Where
	if v := c.QueryParam("cursor"); v != "" {
		var last int64
		if err := app.DecodeCursor(v, &last); err != nil {
			return app.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it")
		}
		w.Add("id < " + w.Arg(last))
	}
	for _, f := range []struct{ param, column string }{{"channel_id", "channel_id"}, {"alarm_id", "alarm_id"}} {
		if v := c.QueryParam(f.param); v != "" {
			if _, err := uuid.Parse(v); err != nil {
				return app.Invalid(f.param, "invalid_id", f.param+" must be a UUID")
			}
			w.Add(f.column + " = " + w.Arg(v))
		}
	}
	switch c.QueryParam("ok") {
	case "":
	case "true", "false":
		w.Add("ok = " + w.Arg(c.QueryParam("ok") == "true"))
	default:
		return app.Invalid("ok", "invalid_bool", "ok must be true or false")
	}
	ctx := c.Request().Context()
	rows, err := h.svc.DB.Jobs.Query(ctx, `SELECT id, outbox_id::text, channel_id::text, '', alarm_id::text, kind, at, attempt, ok, status_code, latency_ms, error
		FROM notification_attempts WHERE `+w.SQL()+` ORDER BY id DESC LIMIT `+w.Arg(limit+1), w.Args()...)
	if err != nil {
		return err
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Delivery])
	if err != nil {
		return err
	}
	channels, err := listChannels(ctx, h.svc.DB.Config)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, ch := range channels {
		names[ch.ID] = ch.Name
	}
	for i := range list {
		list[i].ChannelName = names[list[i].ChannelID]
	}
	return c.JSON(http.StatusOK, app.PageByKey(limit, list, func(d Delivery) any { return d.ID }))
}
