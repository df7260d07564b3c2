package alarms

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/settings/settingsapi"
)

// Message is what every channel is given for one transition; webhooks send it as their JSON
// body (the Standard Webhooks payload shape: type, timestamp, data).
type Message struct {
	Type      string      `json:"type" doc:"alarm.opened, alarm.escalated, alarm.acknowledged, alarm.resolved, or test."`
	Timestamp time.Time   `json:"timestamp"`
	Data      MessageData `json:"data"`
}

// MessageData is the alarm as it was at the transition, and a link back to it.
type MessageData struct {
	Alarm      *Alarm     `json:"alarm"`
	Transition Transition `json:"transition"`
	RuleName   string     `json:"rule_name"`
	URL        string     `json:"url,omitempty" doc:"The alarm in mipo's UI, when the public FQDN is set."`
}

// Relay routes every unqueued transition into the jobs database's outbox: one row per channel
// its routes choose, unless a snooze holds it. The transition and its queued flag live in the
// config database and the outbox in the jobs database, so the two cannot share a transaction;
// instead the outbox's unique (transition, channel) key makes the copy idempotent, and the
// flag is set only after the copy committed. A crash between the two repeats the copy, which
// inserts nothing new. It returns how many transitions it handled.
func (s *Service) Relay(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.relayBatch(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

type pending struct {
	t Transition
	a *Alarm
}

func (s *Service) relayBatch(ctx context.Context) (int, error) {
	tx, err := s.DB.Config.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT t.id, t.alarm_id, t.at, t.kind, t.severity, t.actor, t.comment, t.queued, t.note, `+alarmColumns+`
		FROM alarm_transitions t JOIN alarms a ON a.id = t.alarm_id WHERE NOT t.queued ORDER BY t.id LIMIT 100 FOR UPDATE OF t SKIP LOCKED`)
	batch, err := app.Collect(rows, err, func(r pgx.Row) (pending, error) {
		var p pending
		p.a = &Alarm{}
		a := p.a
		err := r.Scan(&p.t.ID, &p.t.AlarmID, &p.t.At, &p.t.Kind, &p.t.Severity, &p.t.Actor, &p.t.Comment, &p.t.Queued, &p.t.Note,
			&a.ID, &a.Key, &a.RuleID, &a.Component, &a.Subject, &a.Severity, &a.State, &a.Summary, &a.Detail, &a.Count,
			&a.Escalations, &a.FirstSeenAt, &a.LastSeenAt, &a.AcknowledgedAt, &a.AcknowledgedBy, &a.ResolvedAt, &a.PreviousID)
		return p, err
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	routes, err := listRoutes(ctx, tx)
	if err != nil {
		return 0, err
	}
	channels, err := listChannels(ctx, tx)
	if err != nil {
		return 0, err
	}
	enabled := map[string]bool{}
	for _, c := range channels {
		enabled[c.ID] = c.Enabled
	}
	snoozes, err := listSnoozes(ctx, tx, nil)
	if err != nil {
		return 0, err
	}
	base := ""
	if st, err := settingsapi.Load(ctx, tx); err == nil && st.PublicFQDN != "" {
		base = "https://" + st.PublicFQDN
	}
	now := s.Clock.Now()
	out := &pgx.Batch{}
	ids, notes := make([]int64, len(batch)), make([]string, len(batch))
	for i, p := range batch {
		ids[i] = p.t.ID
		if reason := snoozedBy(snoozes, p.a, p.t.At); reason != "" {
			notes[i] = "not sent: snoozed (" + reason + ")"
			continue
		}
		targets := channelsFor(routes, enabled, p.a, p.t.Kind, p.t.Severity)
		if len(targets) == 0 {
			notes[i] = "not sent: no route matches"
			continue
		}
		notes[i] = fmt.Sprintf("sent to %d channel(s)", len(targets))
		msg, err := json.Marshal(messageFor(p, base))
		if err != nil {
			return 0, err
		}
		for _, ch := range targets {
			out.Queue(`INSERT INTO notification_outbox (id, transition_id, channel_id, alarm_id, message, created_at, next_attempt_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (transition_id, channel_id) DO NOTHING`,
				uuid.NewString(), p.t.ID, ch, p.a.ID, msg, now)
		}
	}
	if out.Len() > 0 {
		if err := s.DB.Jobs.SendBatch(ctx, out).Close(); err != nil {
			return 0, fmt.Errorf("writing the notification outbox: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE alarm_transitions t SET queued = true, note = u.note FROM unnest($1::bigint[], $2::text[]) AS u(id, note)
		WHERE t.id = u.id`, ids, notes); err != nil {
		return 0, err
	}
	return len(batch), tx.Commit(ctx)
}

func messageFor(p pending, base string) Message {
	rule, _ := ruleByID(p.a.RuleID)
	a := *p.a
	a.Severity = p.t.Severity
	m := Message{Type: "alarm." + p.t.Kind, Timestamp: p.t.At, Data: MessageData{Alarm: &a, Transition: p.t, RuleName: rule.Name}}
	m.Data.Transition.Queued, m.Data.Transition.Note = false, ""
	if base != "" {
		m.Data.URL = base + "/alarms/" + a.ID
	}
	return m
}

// Notification is one message on its way to one channel. ID is the webhook-id: the outbox
// row's id, the same on every attempt.
type Notification struct {
	ID      string
	Message Message
	Body    []byte
}

// Result is how one attempt went.
type Result struct {
	OK      bool          `json:"ok"`
	Status  int           `json:"status_code" doc:"The receiver's HTTP status, or SMTP reply code; 0 when it did not answer."`
	Latency time.Duration `json:"-"`
	Error   string        `json:"error"`
	Gone    bool          `json:"-"`
}

// Worker sends the outbox. Any number run at once, in any dispatcher process: each claims one
// due row at a time with FOR UPDATE SKIP LOCKED and keeps it locked while it sends, so no two
// send the same row, and a process killed mid-send releases its row to the others at once (its
// connection closes and the lock goes with it). The receiver may then see the message twice,
// always with the same webhook-id.
type Worker struct {
	Svc         *Service
	Secrets     *app.SecretBox
	Clock       app.Clock
	GiveUpAfter time.Duration
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	Concurrency int
	Poll        time.Duration
}

// backoff is the wait before attempt n+1: exponential from the base up to the cap, with ±25%
// jitter so that a receiver that comes back is not hit by every retry at once.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.BaseBackoff << min(attempts-1, 20)
	if d <= 0 || d > w.MaxBackoff {
		d = w.MaxBackoff
	}
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// Run sends until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	done := make(chan struct{})
	for range max(1, w.Concurrency) {
		go func() {
			defer func() { done <- struct{}{} }()
			t := time.NewTicker(w.Poll)
			defer t.Stop()
			for ctx.Err() == nil {
				sent, err := w.DeliverOne(ctx)
				if err != nil && ctx.Err() == nil {
					w.Svc.Log.Warn("notification delivery failed", "err", err)
				}
				if sent && err == nil {
					continue
				}
				select {
				case <-ctx.Done():
				case <-t.C:
				case <-w.Svc.send:
				}
			}
		}()
	}
	for range max(1, w.Concurrency) {
		<-done
	}
}

// DeliverOne claims one due notification, attempts it and records the attempt. It reports
// whether there was one.
func (w *Worker) DeliverOne(ctx context.Context) (bool, error) {
	tx, err := w.Svc.DB.Jobs.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	now := w.Clock.Now()
	var n Notification
	var channelID, alarmID string
	var attempts int
	var created time.Time
	err = tx.QueryRow(ctx, `SELECT id, channel_id, alarm_id, message, attempts, created_at FROM notification_outbox
		WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, transition_id LIMIT 1 FOR UPDATE SKIP LOCKED`, now).
		Scan(&n.ID, &channelID, &alarmID, &n.Body, &attempts, &created)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(n.Body, &n.Message); err != nil {
		return true, err
	}
	ch, err := GetChannel(ctx, w.Svc.DB.Config, channelID)
	if err != nil && err != errChannelNotFound {
		return true, err
	}
	if ch == nil || !ch.Enabled {
		_, err := tx.Exec(ctx, `UPDATE notification_outbox SET state = 'dropped', finished_at = $2, last_error = 'the channel is disabled or deleted'
			WHERE id = $1`, n.ID, now)
		if err != nil {
			return true, err
		}
		return true, tx.Commit(ctx)
	}
	res := Send(ctx, w.Secrets, ch, n)
	attempts++
	if _, err := tx.Exec(ctx, `INSERT INTO notification_attempts (outbox_id, channel_id, alarm_id, kind, at, attempt, ok, status_code, latency_ms, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, n.ID, channelID, alarmID, n.Message.Type, now, attempts, res.OK, res.Status,
		res.Latency.Milliseconds(), app.Truncate(res.Error, 1000)); err != nil {
		return true, err
	}
	var fault string
	switch {
	case res.OK:
		_, err = tx.Exec(ctx, `UPDATE notification_outbox SET state = 'delivered', attempts = $2, finished_at = $3, last_error = '' WHERE id = $1`,
			n.ID, attempts, now)
	case res.Gone:
		fault = "the receiver answered 410 Gone; the channel was disabled"
		_, err = tx.Exec(ctx, `UPDATE notification_outbox SET state = 'failed', attempts = $2, finished_at = $3, last_error = $4 WHERE id = $1`,
			n.ID, attempts, now, fault)
	case now.Sub(created) >= w.GiveUpAfter:
		fault = fmt.Sprintf("gave up after %d attempts over %s: %s", attempts, now.Sub(created).Round(time.Second), res.Error)
		_, err = tx.Exec(ctx, `UPDATE notification_outbox SET state = 'failed', attempts = $2, finished_at = $3, last_error = $4 WHERE id = $1`,
			n.ID, attempts, now, app.Truncate(fault, 1000))
	default:
		_, err = tx.Exec(ctx, `UPDATE notification_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1`,
			n.ID, attempts, now.Add(w.backoff(attempts)), app.Truncate(res.Error, 1000))
	}
	if err != nil {
		return true, err
	}
	if err := tx.Commit(ctx); err != nil {
		return true, err
	}
	return true, w.afterAttempt(ctx, ch, res, fault)
}

// afterAttempt raises or resolves the alarm about the channel itself, and disables a webhook
// whose receiver said 410 Gone.
func (w *Worker) afterAttempt(ctx context.Context, ch *Channel, res Result, fault string) error {
	ev := app.Event{Type: EventChannelDelivered, Subject: ch.ID}
	switch {
	case res.OK:
	case fault == "":
		return nil
	default:
		body, _ := json.Marshal(map[string]any{"name": ch.Name, "kind": ch.Kind, "error": fault})
		ev = app.Event{Type: EventChannelFailing, Subject: ch.ID, Payload: body}
	}
	if res.Gone {
		ctx := app.WithPrincipal(ctx, app.System("alarms.notifier"))
		err := app.InTx(ctx, w.Svc.DB.Config, func(ctx context.Context, c *app.Change) error {
			before, after, err := disableChannel(ctx, c.Tx, ch.ID, "the receiver answered 410 Gone", w.Clock.Now())
			if err != nil {
				return err
			}
			return auditapi.Record(ctx, c.Tx, auditapi.Entry{Action: "alarm_channel.disable", ResourceType: "alarm_channel", ResourceID: ch.ID, ResourceName: ch.Name,
				Before: before, After: after, Detail: map[string]any{"reason": "410 Gone"}})
		})
		if err != nil {
			return err
		}
	}
	return w.Svc.Apply(ctx, ev)
}
