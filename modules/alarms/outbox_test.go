package alarms

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A receiver that fails is retried with growing waits, each attempt carrying the same
// webhook-id, until it succeeds; every attempt is in the delivery log.
func TestRetriesBackOffThenSucceedWithOneWebhookID(t *testing.T) {
	f := newFixture(t)
	rx := newWebhookReceiver(t)
	var calls atomic.Int32
	rx.status = func() int {
		if calls.Add(1) <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	ch := f.channel(map[string]any{"name": "hook", "kind": "webhook", "webhook": map[string]any{"url": rx.URL}})
	rx.secret = ch.SigningSecret
	f.apply(ev("database.config.unreachable", "config", map[string]any{"error": "timeout"}))
	f.deliver() // attempt 1 fails
	var waits []time.Duration
	for len(rx.all()) < 4 {
		var next time.Time
		f.svc.DB.Jobs.QueryRow(t.Context(), `SELECT next_attempt_at FROM notification_outbox`).Scan(&next)
		wait := next.Sub(f.clock.Now())
		waits = append(waits, wait)
		f.clock.Advance(wait / 2)
		if sent, _ := f.w.DeliverOne(t.Context()); sent {
			t.Fatal("a retry was sent before its time")
		}
		f.clock.Advance(wait - wait/2)
		f.deliver()
		if len(waits) > 5 {
			t.Fatal("never delivered")
		}
	}
	got := rx.all()
	for _, g := range got {
		if g.ID != got[0].ID {
			t.Fatalf("retries must carry the same webhook-id: %s and %s", got[0].ID, g.ID)
		}
	}
	if !(waits[1] > waits[0] && waits[2] > waits[1]) || waits[0] < 7*time.Second || waits[0] > 13*time.Second {
		t.Fatalf("waits must grow from about 10s: %v", waits)
	}
	var log struct{ Items []Delivery }
	f.owner.Get("/api/v1/alarm-deliveries?channel_id="+ch.ID).JSON(t, &log)
	if len(log.Items) != 4 || !log.Items[0].OK || log.Items[1].OK || log.Items[1].StatusCode != 503 || *log.Items[0].OutboxID != got[0].ID {
		t.Fatalf("delivery log: %+v", log.Items)
	}
	if r := f.owner.Get("/api/v1/alarm-deliveries?ok=maybe"); r.Status != http.StatusBadRequest || r.ErrorField() != "ok" {
		t.Fatalf("bad filter: %d %s", r.Status, r.Body)
	}
}

// 410 Gone disables a webhook channel (audited) and raises an alarm about it.
func TestGoneDisablesTheChannel(t *testing.T) {
	f := newFixture(t)
	rx := newWebhookReceiver(t)
	rx.status = func() int { return http.StatusGone }
	ch := f.channel(map[string]any{"name": "old hook", "kind": "webhook", "webhook": map[string]any{"url": rx.URL}})
	f.apply(ev("dispatcher.absent", "dispatcher", nil))
	f.deliver()
	var got Channel
	f.owner.Get("/api/v1/alarm-channels/"+ch.ID).JSON(t, &got)
	if got.Enabled || got.DisabledReason == "" {
		t.Fatalf("410 must disable the channel: %+v", got)
	}
	if a := f.alarms("rule=notification.channel.failing&state=open"); len(a) != 1 || a[0].Subject != ch.ID {
		t.Fatalf("want an alarm about the channel: %+v", a)
	}
	var n int
	f.svc.DB.Config.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action = 'alarm_channel.disable'`).Scan(&n)
	if n != 1 || len(rx.all()) != 1 {
		t.Fatalf("audited %d, requests %d", n, len(rx.all()))
	}
}

// A receiver down for longer than the give-up time fails the notification and raises the
// channel alarm; the channel's next delivery resolves it.
func TestGivingUpRaisesTheChannelAlarm(t *testing.T) {
	f := newFixture(t)
	down := newWebhookReceiver(t)
	down.Close() // nothing listens
	ch := f.channel(map[string]any{"name": "down", "kind": "webhook", "webhook": map[string]any{"url": down.URL}})
	f.apply(ev("database.jobs.unreachable", "jobs", nil))
	f.deliver()
	for range 20 {
		f.clock.Advance(5 * time.Minute)
		f.deliver()
	}
	var state, lastErr string
	f.svc.DB.Jobs.QueryRow(t.Context(), `SELECT state, last_error FROM notification_outbox`).Scan(&state, &lastErr)
	if state != "failed" {
		t.Fatalf("after the give-up time: %s %s", state, lastErr)
	}
	if a := f.alarms("rule=notification.channel.failing&state=open"); len(a) != 1 || a[0].Subject != ch.ID {
		t.Fatalf("want the channel alarm: %+v", a)
	}
	// The receiver comes back: the channel's next delivery resolves its alarm.
	up := newWebhookReceiver(t)
	if r := f.owner.Patch("/api/v1/alarm-channels/"+ch.ID, map[string]any{"webhook": map[string]any{"url": up.URL}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	f.apply(ev("database.jobs.reachable", "jobs", nil))
	f.deliver()
	if a := f.alarms("rule=notification.channel.failing"); a[0].State != StateResolved || len(up.all()) == 0 {
		t.Fatalf("a delivery must resolve the channel alarm: %+v", a)
	}
}
