package alarms

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
)

// States of an alarm.
const (
	StateOpen         = "open"
	StateAcknowledged = "acknowledged"
	StateResolved     = "resolved"
)

// Transitions of an alarm, the kinds routes choose from.
const (
	TransitionOpened       = "opened"
	TransitionEscalated    = "escalated"
	TransitionAcknowledged = "acknowledged"
	TransitionResolved     = "resolved"
)

// Transitions lists every transition kind.
var Transitions = []string{TransitionOpened, TransitionEscalated, TransitionAcknowledged, TransitionResolved}

// Alarm is one occurrence of a fault.
type Alarm struct {
	ID             string          `json:"id"`
	Key            string          `json:"key" doc:"rule id and subject: repeats of an unresolved alarm with this key bump it."`
	RuleID         string          `json:"rule_id"`
	Component      string          `json:"component"`
	Subject        string          `json:"subject"`
	Severity       string          `json:"severity"`
	State          string          `json:"state" doc:"open, acknowledged or resolved."`
	Summary        string          `json:"summary"`
	Detail         json.RawMessage `json:"detail" swaggertype:"object"`
	Count          int64           `json:"count" doc:"How many times the fault was reported while this occurrence was unresolved."`
	Escalations    int             `json:"escalations"`
	FirstSeenAt    time.Time       `json:"first_seen_at"`
	LastSeenAt     time.Time       `json:"last_seen_at"`
	AcknowledgedAt *time.Time      `json:"acknowledged_at"`
	AcknowledgedBy string          `json:"acknowledged_by"`
	ResolvedAt     *time.Time      `json:"resolved_at"`
	PreviousID     *string         `json:"previous_id" doc:"The earlier occurrence of the same key, resolved before this one opened."`
}

// Transition is one entry of an alarm's timeline.
type Transition struct {
	ID       int64     `json:"id"`
	AlarmID  string    `json:"alarm_id"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind" doc:"opened, escalated, acknowledged or resolved."`
	Severity string    `json:"severity"`
	Actor    string    `json:"actor"`
	Comment  string    `json:"comment"`
	Queued   bool      `json:"queued" doc:"Routed into the notification outbox."`
	Note     string    `json:"note" doc:"What routing did with it: how many channels, or why none (snoozed, no route)."`
}

// ErrNotFound is the answer for an alarm id that does not exist.
var ErrNotFound = app.NotFound("alarm")

const alarmColumns = `a.id, a.key, a.rule_id, a.component, a.subject, a.severity, a.state, a.summary, a.detail, a.count,
	a.escalations, a.first_seen_at, a.last_seen_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.previous_id`

func scanAlarm(row pgx.Row) (*Alarm, error) {
	a := &Alarm{}
	err := row.Scan(&a.ID, &a.Key, &a.RuleID, &a.Component, &a.Subject, &a.Severity, &a.State, &a.Summary, &a.Detail, &a.Count,
		&a.Escalations, &a.FirstSeenAt, &a.LastSeenAt, &a.AcknowledgedAt, &a.AcknowledgedBy, &a.ResolvedAt, &a.PreviousID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// Get loads one alarm.
func Get(ctx context.Context, db app.Querier, id string) (*Alarm, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, ErrNotFound
	}
	return scanAlarm(db.QueryRow(ctx, `SELECT `+alarmColumns+` FROM alarms a WHERE a.id = $1`, id))
}

// Service is the alarm lifecycle: events in, transitions out. Every method that changes an
// alarm writes its transitions in the same transaction, then wakes the relay.
type Service struct {
	DB    Databases // read at each call: the pools open after the module is provisioned
	Clock app.Clock
	Log   *slog.Logger
	rules ruleCache
	relay chan struct{} // a transition was written: route it
	send  chan struct{} // the outbox has new rows: send them
}

// Databases are the alarm modules': alarms and their transitions (config), the outbox and
// notification attempts (jobs), and results, which the health checks only ping.
type Databases struct {
	Config  app.ConfigDB
	Jobs    app.JobsDB
	Results app.ResultsDB
}

// Pool returns a database's pool by name (for the health checks).
func (d Databases) Pool(name string) *pgxpool.Pool {
	switch name {
	case app.DBConfig:
		return d.Config.Pool()
	case app.DBResults:
		return d.Results.Pool()
	case app.DBJobs:
		return d.Jobs.Pool()
	}
	return nil
}

// NewService returns the lifecycle service over a process's databases.
func NewService(db *app.Databases, clock app.Clock, log *slog.Logger) *Service {
	return newService(Databases{Config: db.ConfigDB(), Jobs: db.JobsDB(), Results: db.ResultsDB()}, clock, log)
}

func newService(db Databases, clock app.Clock, log *slog.Logger) *Service {
	return &Service{DB: db, Clock: clock, Log: log, relay: make(chan struct{}, 1), send: make(chan struct{}, 1)}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *Service) poke() { wake(s.relay) }

// RunRelay routes transitions as they are written, and every few seconds in case another
// process wrote them or a relay failed half-way.
func (s *Service) RunRelay(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Relay(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Warn("routing alarm transitions failed; will retry", "err", err)
		}
		if n > 0 {
			wake(s.send)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.relay:
		}
	}
}

// op is one step of applying events: fire (open or bump by n) or resolve a key.
type op struct {
	resolve  bool
	rule     RuleView
	key      string
	subject  string
	severity string
	summary  string
	detail   []byte
	n        int64
	cause    string
}

// plan turns events into steps under the rules, folding repeats of one key into a single bump
// (with its count) as long as no resolve of that key comes between them. This folding is why
// a burst of the same fault costs one statement, not one per event.
func plan(rules []RuleView, events []app.Event) []op {
	var ops []op
	pending := map[string]int{} // key → index in ops of its open fire step
	for _, e := range events {
		for _, r := range rules {
			switch {
			case slices.Contains(r.Fire, e.Type):
				if r.Disabled || (r.applies != nil && !r.applies(e, r.thresholds())) {
					continue
				}
				key, subject := r.keyOf(e)
				if i, ok := pending[key]; ok {
					ops[i].n++
					ops[i].summary, ops[i].detail = summaryOf(r.Rule, e), e.Payload
					if r.severityOf != nil {
						ops[i].severity = worse(ops[i].severity, r.severityOf(e, r.EffectiveSeverity))
					}
					continue
				}
				sev := r.EffectiveSeverity
				if r.severityOf != nil {
					sev = r.severityOf(e, sev)
				}
				pending[key] = len(ops)
				ops = append(ops, op{rule: r, key: key, subject: subject, severity: sev, summary: summaryOf(r.Rule, e), detail: e.Payload, n: 1, cause: e.Type})
			case slices.Contains(r.Resolve, e.Type):
				key, subject := r.keyOf(e)
				delete(pending, key)
				ops = append(ops, op{resolve: true, rule: r, key: key, subject: subject, cause: e.Type})
			}
		}
	}
	return ops
}

func summaryOf(r Rule, e app.Event) string {
	if r.summary != nil {
		return r.summary(e)
	}
	return r.Name
}

func worse(a, b string) string {
	if slices.Index(Severities, b) > slices.Index(Severities, a) {
		return b
	}
	return a
}

// Apply runs events through the rules in one config transaction: opening, bumping and
// resolving alarms. It is what the event bus calls, and what checks call for facts that cannot
// travel over the bus (the jobs database itself being down).
func (s *Service) Apply(ctx context.Context, events ...app.Event) error {
	rules, err := s.rules.get(ctx, s.DB.Config)
	if err != nil {
		return err
	}
	ops := plan(rules, events)
	if len(ops) == 0 {
		return nil
	}
	now := s.Clock.Now()
	var written []transitionRow
	emit := func(t transitionRow) { written = append(written, t) }
	err = pgx.BeginFunc(ctx, s.DB.Config, func(tx pgx.Tx) error {
		for _, seg := range segments(ops) {
			if err := applySegment(ctx, tx, seg, now, emit); err != nil {
				return err
			}
		}
		if len(written) == 0 {
			return nil
		}
		return addTransitions(ctx, tx, written)
	})
	if err == nil && len(written) > 0 {
		s.poke()
	}
	return err
}

// segments cuts ops into runs in which no key appears twice. Within a run the order of steps
// does not matter (they touch different alarms), so each run is done in a few set-wide
// statements instead of one per step; a key's second step starts the next run, which keeps
// a resolve and a fire of one key in the order they came.
func segments(ops []op) [][]op {
	var out [][]op
	seen := map[string]bool{}
	start := 0
	for i, o := range ops {
		if seen[o.key] {
			out = append(out, ops[start:i])
			start, seen = i, map[string]bool{}
		}
		seen[o.key] = true
	}
	return append(out, ops[start:])
}

// applySegment resolves the run's resolve keys in one statement, bumps every fire key that has
// an unresolved alarm in another (the dedupe path: a repeat costs one row of an unnest), and
// opens the rest one by one, pipelined.
func applySegment(ctx context.Context, tx pgx.Tx, seg []op, now time.Time, emit func(transitionRow)) error {
	var resolve []string
	var fires []op
	cause := map[string]string{}
	for _, o := range seg {
		cause[o.key] = "event " + o.cause
		if o.resolve {
			resolve = append(resolve, o.key)
		} else {
			fires = append(fires, o)
		}
	}
	if len(resolve) > 0 {
		rows, err := tx.Query(ctx, `UPDATE alarms SET state = 'resolved', resolved_at = $2 WHERE key = ANY($1) AND state <> 'resolved'
			RETURNING id, severity, key`, resolve, now)
		if err != nil {
			return err
		}
		var id, sev, key string
		if _, err := pgx.ForEachRow(rows, []any{&id, &sev, &key}, func() error {
			emit(transitionRow{alarmID: id, at: now, kind: TransitionResolved, severity: sev, actor: cause[key]})
			return nil
		}); err != nil {
			return err
		}
	}
	if len(fires) == 0 {
		return nil
	}
	keys, ns, sevs, sums, details := make([]string, len(fires)), make([]int64, len(fires)), make([]string, len(fires)), make([]string, len(fires)), make([]string, len(fires))
	for i, o := range fires {
		keys[i], ns[i], sevs[i], sums[i], details[i] = o.key, o.n, o.severity, o.summary, string(detailOf(o))
	}
	// The self-join on o reads each row as it was before this statement: its old severity.
	rows, err := tx.Query(ctx, `UPDATE alarms a SET count = a.count + u.n, last_seen_at = GREATEST(a.last_seen_at, $6),
			summary = u.summary, detail = u.detail::jsonb,
			severity = CASE WHEN array_position(`+severityOrder+`, u.severity) > array_position(`+severityOrder+`, a.severity)
				THEN u.severity ELSE a.severity END
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS u(key, n, severity, summary, detail)
		JOIN alarms o ON o.key = u.key AND o.state <> 'resolved'
		WHERE a.id = o.id
		RETURNING a.key, a.id, a.severity, o.severity`, keys, ns, sevs, sums, details, now)
	if err != nil {
		return err
	}
	bumped := map[string]bool{}
	var key, id, sev, old string
	if _, err := pgx.ForEachRow(rows, []any{&key, &id, &sev, &old}, func() error {
		bumped[key] = true
		if sev != old {
			emit(transitionRow{alarmID: id, at: now, kind: TransitionEscalated, severity: sev, actor: cause[key]})
		}
		return nil
	}); err != nil {
		return err
	}
	opens := &pgx.Batch{}
	for _, o := range fires {
		if !bumped[o.key] {
			queueOpen(opens, o, now, emit)
		}
	}
	if opens.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, opens).Close()
}

func detailOf(o op) []byte {
	if len(o.detail) == 0 || string(o.detail) == "null" {
		return []byte("{}")
	}
	return o.detail
}

const severityOrder = `ARRAY['info','warning','minor','major','critical']`

// transitionRow is a transition to write.
type transitionRow struct {
	alarmID, kind, severity, actor, comment string
	at                                      time.Time
}

func addTransitions(ctx context.Context, tx pgx.Tx, ts []transitionRow) error {
	b := &pgx.Batch{}
	for _, t := range ts {
		b.Queue(`INSERT INTO alarm_transitions (alarm_id, at, kind, severity, actor, comment) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.alarmID, t.at, t.kind, t.severity, t.actor, t.comment)
	}
	return tx.SendBatch(ctx, b).Close()
}

// queueOpen opens an alarm for a fire step whose key has no unresolved alarm, linking the
// previous occurrence. ON CONFLICT keeps it right when another process opened the same key a
// moment ago: then it bumps instead.
func queueOpen(b *pgx.Batch, o op, now time.Time, emit func(transitionRow)) {
	b.Queue(`INSERT INTO alarms (id, key, rule_id, component, subject, severity, state, summary, detail, count, first_seen_at, last_seen_at, previous_id)
		VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $10,
			(SELECT p.id FROM alarms p WHERE p.key = $2 AND p.state = 'resolved' ORDER BY p.first_seen_at DESC LIMIT 1))
		ON CONFLICT (key) WHERE state <> 'resolved' DO UPDATE SET count = alarms.count + EXCLUDED.count,
			last_seen_at = GREATEST(alarms.last_seen_at, EXCLUDED.last_seen_at), summary = EXCLUDED.summary, detail = EXCLUDED.detail
		RETURNING id, severity, (xmax = 0)`,
		uuid.NewString(), o.key, o.rule.ID, o.rule.Component, o.subject, o.severity, o.summary, detailOf(o), o.n, now).QueryRow(func(row pgx.Row) error {
		var id, sev string
		var inserted bool
		if err := row.Scan(&id, &sev, &inserted); err != nil {
			return err
		}
		if inserted {
			emit(transitionRow{alarmID: id, at: now, kind: TransitionOpened, severity: sev, actor: "event " + o.cause})
		}
		return nil
	})
}

func addTransition(ctx context.Context, tx pgx.Tx, alarmID string, at time.Time, kind, severity, actor, comment string) error {
	_, err := tx.Exec(ctx, `INSERT INTO alarm_transitions (alarm_id, at, kind, severity, actor, comment) VALUES ($1, $2, $3, $4, $5, $6)`,
		alarmID, at, kind, severity, actor, comment)
	return err
}

// actorName names who acts, for the timeline.
func actorName(ctx context.Context) string {
	p := app.PrincipalFrom(ctx)
	if p == nil {
		return "system"
	}
	if p.Kind == app.PrincipalSystem {
		return "system " + p.Name
	}
	return p.Name
}

// Acknowledge marks open alarms acknowledged with a comment. Alarms among ids that are not
// open are left as they are and not returned; an id that does not exist is ErrNotFound.
func Acknowledge(ctx context.Context, tx pgx.Tx, ids []string, comment string, now time.Time) (changed []*Alarm, err error) {
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return nil, ErrNotFound
		}
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM alarms WHERE id = ANY($1)`, ids).Scan(&n); err != nil {
		return nil, err
	}
	if n != len(uniq(ids)) {
		return nil, ErrNotFound
	}
	who := actorName(ctx)
	rows, err := tx.Query(ctx, `UPDATE alarms a SET state = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3
		WHERE a.id = ANY($1) AND a.state = 'open' RETURNING `+alarmColumns, ids, now, who)
	changed, err = app.Collect(rows, err, scanAlarm)
	if err != nil {
		return nil, err
	}
	for _, a := range changed {
		if err := addTransition(ctx, tx, a.ID, now, TransitionAcknowledged, a.Severity, who, comment); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

func uniq(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

// Resolve resolves one alarm by hand (a failed scan that will not be retried, say).
func Resolve(ctx context.Context, tx pgx.Tx, id, comment string, now time.Time) (before, after *Alarm, err error) {
	if before, err = scanAlarm(tx.QueryRow(ctx, `SELECT `+alarmColumns+` FROM alarms a WHERE a.id = $1 FOR UPDATE`, id)); err != nil {
		return nil, nil, err
	}
	if before.State == StateResolved {
		return nil, nil, app.Conflict("already_resolved", "the alarm is already resolved")
	}
	after, err = scanAlarm(tx.QueryRow(ctx, `UPDATE alarms a SET state = 'resolved', resolved_at = $2 WHERE a.id = $1 RETURNING `+alarmColumns, id, now))
	if err != nil {
		return nil, nil, err
	}
	return before, after, addTransition(ctx, tx, id, now, TransitionResolved, after.Severity, actorName(ctx), comment)
}

// Escalate moves each alarm still open past its rule's window one severity up, once per
// window, writing an escalated transition. Acknowledged alarms do not escalate: somebody is on
// them.
func (s *Service) Escalate(ctx context.Context) (int, error) {
	rules, err := s.rules.get(ctx, s.DB.Config)
	if err != nil {
		return 0, err
	}
	now := s.Clock.Now()
	total := 0
	err = pgx.BeginFunc(ctx, s.DB.Config, func(tx pgx.Tx) error {
		for _, r := range rules {
			window := r.escalateAfter()
			if window <= 0 {
				continue
			}
			rows, err := tx.Query(ctx, `UPDATE alarms SET escalations = escalations + 1,
				severity = (`+severityOrder+`)[least(array_position(`+severityOrder+`, severity) + 1, 5)]
				WHERE rule_id = $1 AND state = 'open' AND severity <> 'critical'
				AND first_seen_at + $2::interval * (escalations + 1) <= $3
				RETURNING id, severity`, r.ID, window.String(), now)
			if err != nil {
				return err
			}
			var id, sev string
			var ids, sevs []string
			if _, err := pgx.ForEachRow(rows, []any{&id, &sev}, func() error { ids, sevs = append(ids, id), append(sevs, sev); return nil }); err != nil {
				return err
			}
			for i := range ids {
				if err := addTransition(ctx, tx, ids[i], now, TransitionEscalated, sevs[i], "system escalation",
					"open longer than "+window.String()); err != nil {
					return err
				}
			}
			total += len(ids)
		}
		return nil
	})
	if err == nil && total > 0 {
		s.poke()
	}
	return total, err
}

// Timeline lists an alarm's transitions, oldest first.
func Timeline(ctx context.Context, db app.Querier, id string) ([]Transition, error) {
	rows, err := db.Query(ctx, `SELECT id, alarm_id, at, kind, severity, actor, comment, queued, note FROM alarm_transitions
		WHERE alarm_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Transition])
	if out == nil {
		out = []Transition{}
	}
	return out, err
}

// OpenCount is how many alarms are open (not acknowledged, not resolved), by severity.
type OpenCount struct {
	Open         int            `json:"open"`
	Acknowledged int            `json:"acknowledged"`
	BySeverity   map[string]int `json:"by_severity" doc:"Open alarms per severity."`
}

func openCount(ctx context.Context, db app.Querier) (OpenCount, error) {
	out := OpenCount{BySeverity: map[string]int{}}
	rows, err := db.Query(ctx, `SELECT state, severity, count(*) FROM alarms WHERE state <> 'resolved' GROUP BY state, severity`)
	if err != nil {
		return out, err
	}
	var state, sev string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &sev, &n}, func() error {
		if state == StateOpen {
			out.Open += n
			out.BySeverity[sev] += n
		} else {
			out.Acknowledged += n
		}
		return nil
	})
	return out, err
}
