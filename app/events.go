package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// An Event is something that happened that other modules may act on: a scanner went offline,
// a job stalled, a backup failed. Events are stored in the jobs database.
type Event struct {
	ID      int64           `json:"id"`
	Type    string          `json:"type"`    // dotted: "scanner.offline"
	Subject string          `json:"subject"` // what it is about, such as a scanner id
	Source  string          `json:"source"`  // the process that emitted it
	Payload json.RawMessage `json:"payload"`
	At      time.Time       `json:"at"`
}

// Decode reads the event's payload into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Payload, v) }

// EventHandler handles one event. An error makes the bus try again later (with backoff), so a
// handler must be safe to run more than once for the same event.
type EventHandler func(ctx context.Context, e Event) error

// A BatchHandler handles a batch of events in one call, so that it can do them in one
// transaction. The same rule holds as for an EventHandler: an error means the bus tries again
// (each event then on its own, so that one bad event holds back only itself), and a handler
// must be safe to run more than once for the same events.
type BatchHandler func(ctx context.Context, events []Event) error

type subscriber struct {
	name    string
	pattern string
	fn      EventHandler
	batch   BatchHandler // set instead of fn by Mount.OnBatch
}

const eventChannel = "mipo_events"

// Bus is the event bus. Emit stores an event and a delivery for every subscriber whose pattern
// matches, in one transaction, then wakes every process with NOTIFY; each process claims the
// deliveries of its own subscribers with SKIP LOCKED. So an event reaches each subscriber at
// least once, in whichever process runs it, even across restarts.
type Bus struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	source  string
	subs    []subscriber
	wake    chan struct{}
	stop    context.CancelFunc
	done    sync.WaitGroup
	mu      sync.Mutex
	running bool
}

func newBus(log *slog.Logger, source string) *Bus {
	return &Bus{log: log, source: source, wake: make(chan struct{}, 1)}
}

// Emit records an event. Subject and payload may be empty.
func (b *Bus) Emit(ctx context.Context, typ, subject string, payload any) error {
	if b.pool == nil {
		return fmt.Errorf("event bus not started")
	}
	body := []byte("{}")
	if payload != nil {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return fmt.Errorf("event %s: %w", typ, err)
		}
	}
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO events (type, subject, source, payload) VALUES ($1, $2, $3, $4) RETURNING id`,
			typ, subject, b.source, body).Scan(&id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO event_deliveries (subscriber, event_id)
			SELECT name, $1 FROM event_subscribers
			WHERE EXISTS (SELECT 1 FROM unnest(patterns) p WHERE $2 LIKE replace(replace(p, '_', '\_'), '*', '%'))`, id, typ)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, eventChannel, typ)
		return err
	})
}

// EmitAll records many events in one transaction, with a few statements whatever their
// number, for a producer whose events come in bursts. Each event's Type, Subject and Payload
// are used (an empty payload is stored as {}); the bus sets the rest.
func (b *Bus) EmitAll(ctx context.Context, events ...Event) error {
	if b.pool == nil {
		return fmt.Errorf("event bus not started")
	}
	if len(events) == 0 {
		return nil
	}
	types, subjects, payloads := make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		types[i], subjects[i], payloads[i] = e.Type, e.Subject, "{}"
		if len(e.Payload) > 0 {
			payloads[i] = string(e.Payload)
		}
	}
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			WITH new AS (
				INSERT INTO events (type, subject, source, payload)
				SELECT t, s, $4, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS e(t, s, p)
				RETURNING id, type)
			INSERT INTO event_deliveries (subscriber, event_id)
			SELECT sub.name, new.id FROM new JOIN event_subscribers sub
			ON EXISTS (SELECT 1 FROM unnest(sub.patterns) p WHERE new.type LIKE replace(replace(p, '_', '\_'), '*', '%'))`,
			types, subjects, payloads, b.source)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, eventChannel, types[0])
		return err
	})
}

// start announces this process's subscribers and begins delivering.
func (b *Bus) start(ctx context.Context, pool *pgxpool.Pool) error {
	b.pool = pool
	patterns := map[string][]string{}
	for _, s := range b.subs {
		patterns[s.name] = append(patterns[s.name], s.pattern)
	}
	for name, ps := range patterns {
		_, err := pool.Exec(ctx, `
			INSERT INTO event_subscribers (name, patterns) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET patterns = EXCLUDED.patterns, updated_at = now()`, name, ps)
		if err != nil {
			return fmt.Errorf("registering event subscriber %s: %w", name, err)
		}
	}
	if len(b.subs) == 0 {
		return nil
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.stop = cancel
	b.running = true
	b.done.Add(2)
	go func() { defer b.done.Done(); b.listen(runCtx) }()
	go func() { defer b.done.Done(); b.deliverLoop(runCtx) }()
	return nil
}

// shutdown stops delivering; deliveries in flight finish first.
func (b *Bus) shutdown() {
	if b.running {
		b.stop()
		b.done.Wait()
		b.running = false
	}
}

// listen turns NOTIFY into a wake-up. If the connection drops it reconnects; the delivery
// loop also polls, so a missed notification only delays an event, never loses it.
func (b *Bus) listen(ctx context.Context) {
	for ctx.Err() == nil {
		if err := b.listenOnce(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("event listener reconnecting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (b *Bus) listenOnce(ctx context.Context) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+eventChannel); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "UNLISTEN "+eventChannel)
	b.poke()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		b.poke()
	}
}

func (b *Bus) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Bus) deliverLoop(ctx context.Context) {
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	for {
		for _, name := range b.subscriberNames() {
			for ctx.Err() == nil {
				n, err := b.deliverBatch(ctx, name)
				if err != nil && ctx.Err() == nil {
					b.log.Error("event delivery failed", "subscriber", name, "err", err)
				}
				if n == 0 || err != nil {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-poll.C:
		}
	}
}

func (b *Bus) subscriberNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range b.subs {
		if !seen[s.name] {
			seen[s.name] = true
			out = append(out, s.name)
		}
	}
	return out
}

// deliverBatch claims due deliveries of one subscriber, runs the handler on each, and removes
// those that succeeded; a failure is retried with exponential backoff. The claim holds row
// locks for the batch, so another process running the same subscriber skips these rows.
func (b *Bus) deliverBatch(ctx context.Context, name string) (int, error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The deliveries are claimed before the join: joined first, a backlog of thousands would be
	// joined and sorted whole for every batch taken from it.
	rows, err := tx.Query(ctx, `
		WITH d AS (
			SELECT event_id, attempts FROM event_deliveries
			WHERE subscriber = $1 AND next_attempt_at <= now()
			ORDER BY event_id LIMIT $2
			FOR UPDATE SKIP LOCKED)
		SELECT e.id, e.type, e.subject, e.source, e.payload, e.created_at, d.attempts
		FROM d JOIN events e ON e.id = d.event_id
		ORDER BY e.id`, name, b.batchSize(name))
	if err != nil {
		return 0, err
	}
	type claimed struct {
		ev       Event
		attempts int
	}
	var batch []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.ev.ID, &c.ev.Type, &c.ev.Subject, &c.ev.Source, &c.ev.Payload, &c.ev.At, &c.attempts); err != nil {
			rows.Close()
			return 0, err
		}
		batch = append(batch, c)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(batch) > 1 && b.batched(name) {
		events := make([]Event, len(batch))
		ids := make([]int64, len(batch))
		for i, c := range batch {
			events[i], ids[i] = c.ev, c.ev.ID
		}
		herr := b.handleAll(ctx, name, events)
		if herr == nil {
			if _, err := tx.Exec(ctx, `DELETE FROM event_deliveries WHERE subscriber = $1 AND event_id = ANY($2)`, name, ids); err != nil {
				return 0, err
			}
			return len(batch), tx.Commit(ctx)
		}
		// Retry one by one below, so that a bad event fails alone and the rest go through.
		b.log.Warn("event batch failed; retrying its events one by one", "subscriber", name, "events", len(batch), "err", herr)
	}
	for _, c := range batch {
		if herr := b.handle(ctx, name, c.ev); herr != nil {
			backoff := time.Duration(1<<min(c.attempts, 10)) * time.Second
			b.log.Warn("event handler failed; will retry", "subscriber", name, "event", c.ev.Type, "id", c.ev.ID, "err", herr, "retry_in", backoff)
			_, err = tx.Exec(ctx, `UPDATE event_deliveries SET attempts = attempts + 1, last_error = $3,
				next_attempt_at = now() + $4::interval WHERE subscriber = $1 AND event_id = $2`,
				name, c.ev.ID, Truncate(herr.Error(), 1000), backoff.String())
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM event_deliveries WHERE subscriber = $1 AND event_id = $2`, name, c.ev.ID)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(batch), tx.Commit(ctx)
}

func (b *Bus) handle(ctx context.Context, name string, e Event) error {
	return b.handleAll(ctx, name, []Event{e})
}

// handleAll runs each of the subscriber's handlers on the events its pattern matches: a batch
// handler once with all of them, a plain one once per event.
func (b *Bus) handleAll(ctx context.Context, name string, events []Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	ctx = WithPrincipal(ctx, System("event:"+name))
	for _, s := range b.subs {
		if s.name != name {
			continue
		}
		var matched []Event
		for _, e := range events {
			if matchPattern(s.pattern, e.Type) {
				matched = append(matched, e)
			}
		}
		if len(matched) == 0 {
			continue
		}
		if s.batch != nil {
			if err := s.batch(ctx, matched); err != nil {
				return err
			}
			continue
		}
		for _, e := range matched {
			if err := s.fn(ctx, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Claims take up to this many deliveries. A plain handler holds its claim while it runs each
// event, so its batches stay small; a batch handler does a claim in one go, and a bigger one
// spreads the cost of finding it in a backlog over more events.
const (
	claimSize      = 50
	batchClaimSize = 500
)

func (b *Bus) batchSize(name string) int {
	if b.batched(name) {
		return batchClaimSize
	}
	return claimSize
}

// batched reports whether any of the subscriber's handlers takes batches; only then is a
// claimed batch handed over whole.
func (b *Bus) batched(name string) bool {
	for _, s := range b.subs {
		if s.name == name && s.batch != nil {
			return true
		}
	}
	return false
}

// matchPattern matches an event type against a pattern where * stands for any text.
func matchPattern(pattern, typ string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == typ
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(typ, parts[0]) {
		return false
	}
	rest := typ[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}
