package alarms

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// TestResult is how a channel's test message went.
type TestResult struct {
	Result
	LatencyMS int64  `json:"latency_ms"`
	MessageID string `json:"message_id" doc:"The webhook-id (or Message-ID) the test message carried."`
}

// CreatedChannel is a new channel, the default route made with it if it is the first, and
// for a webhook its signing secret (shown once).
type CreatedChannel struct {
	NewChannel
	DefaultRoute *Route `json:"default_route,omitempty" doc:"Made with the first channel of an install: its critical and major alarms."`
}

func (h *handlers) channelRoutes() []app.Route {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []app.Route{
		{Method: get, Path: "/api/v1/alarm-channels", Scope: "alarms:view", Handler: h.listChannels, Response: app.Page[*Channel]{},
			Summary: "Notification channels: webhooks, Slack, email and syslog; never their secrets"},
		{Method: post, Path: "/api/v1/alarm-channels", Scope: "alarms:manage", Handler: h.createChannel, Request: ChannelInput{}, Response: CreatedChannel{},
			Status: http.StatusCreated, Summary: "Create a channel; a webhook's signing secret is generated and shown once"},
		{Method: get, Path: "/api/v1/alarm-channels/:id", Scope: "alarms:view", Handler: h.getChannel, Response: Channel{},
			Summary: "One channel"},
		{Method: patch, Path: "/api/v1/alarm-channels/:id", Scope: "alarms:manage", Handler: h.updateChannel, Request: ChannelUpdate{}, Response: Channel{},
			Summary: "Change a channel, or enable it again; a secret left empty is kept"},
		{Method: del, Path: "/api/v1/alarm-channels/:id", Scope: "alarms:manage", Handler: h.deleteChannel, Status: http.StatusNoContent,
			Summary: "Delete a channel and its routes"},
		{Method: post, Path: "/api/v1/alarm-channels/:id/test", Scope: "alarms:manage", Handler: h.testChannel, Response: TestResult{}, Tx: app.TxOwn,
			Summary: "Send a real test message through the channel now and say how it went (it is in the delivery log too)"},
		{Method: post, Path: "/api/v1/alarm-channels/:id/rotate-secret", Scope: "alarms:manage", Handler: h.rotateSecret, Response: NewChannel{},
			Summary: "Give a webhook channel a new signing secret, shown once; the old one stops signing at once"},
	}
}

func (h *handlers) listChannels(c echo.Context) error {
	list, err := listChannels(c.Request().Context(), h.svc.DB.Config)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[*Channel]{Items: list})
}

func (h *handlers) getChannel(c echo.Context) error {
	ch, err := GetChannel(c.Request().Context(), h.svc.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

func (h *handlers) createChannel(c echo.Context) error {
	var in ChannelInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	ch, def, err := createChannel(ctx, tx, h.m.Secrets, in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm_channel.create", ResourceType: "alarm_channel", ResourceID: ch.ID, ResourceName: ch.Name,
		After: ch.Channel, Detail: map[string]any{"secret_shown_once": ch.SigningSecret != ""}}); err != nil {
		return err
	}
	if def != nil {
		if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm_route.create", ResourceType: "alarm_route", ResourceID: def.ID, After: def,
			Detail: map[string]any{"default": true}}); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusCreated, CreatedChannel{NewChannel: *ch, DefaultRoute: def})
}

func (h *handlers) updateChannel(c echo.Context) error {
	var in ChannelUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := updateChannel(ctx, tx, h.m.Secrets, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm_channel.update", ResourceType: "alarm_channel", ResourceID: after.ID,
		Before: before, After: after, Detail: map[string]any{"secret_changed": before.secret != after.secret}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) deleteChannel(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	ch, err := deleteChannel(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm_channel.delete", ResourceType: "alarm_channel", ResourceID: ch.ID, ResourceName: ch.Name, Before: ch}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) rotateSecret(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	ch, err := rotateSecret(ctx, tx, h.m.Secrets, c.Param("id"), h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "alarm_channel.rotate_secret", ResourceType: "alarm_channel", ResourceID: ch.ID, ResourceName: ch.Name,
		Detail: map[string]any{"secret_shown_once": true}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

// testChannel sends a test message through a channel, even a disabled one (to check it
// before enabling it again), records the attempt in the delivery log and audits the test.
func (h *handlers) testChannel(c echo.Context) error {
	ctx := c.Request().Context()
	ch, err := GetChannel(ctx, h.svc.DB.Config, c.Param("id"))
	if err != nil {
		return err
	}
	n := Notification{ID: "test_" + uuid.NewString(), Message: testMessage(h.m.Clock.Now())}
	if n.Body, err = json.Marshal(n.Message); err != nil {
		return err
	}
	res := Send(ctx, h.m.Secrets, ch, n)
	if err := recordTest(ctx, h.svc, ch.ID, h.m.Clock.Now(), res); err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.svc.DB.Config, auditapi.Entry{Action: "alarm_channel.test", ResourceType: "alarm_channel", ResourceID: ch.ID, ResourceName: ch.Name,
		Outcome: outcome(res.OK), Detail: map[string]any{"status_code": res.Status, "error": res.Error}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TestResult{Result: res, LatencyMS: res.Latency.Milliseconds(), MessageID: n.ID})
}

func outcome(ok bool) string {
	if ok {
		return auditapi.Success
	}
	return auditapi.Failure
}

func recordTest(ctx context.Context, s *Service, channelID string, now time.Time, res Result) error {
	_, err := s.DB.Jobs.Exec(ctx, `INSERT INTO notification_attempts (channel_id, kind, at, attempt, ok, status_code, latency_ms, error)
		VALUES ($1, 'test', $2, 1, $3, $4, $5, $6)`, channelID, now.UTC(), res.OK, res.Status, res.Latency.Milliseconds(), app.Truncate(res.Error, 1000))
	return err
}
