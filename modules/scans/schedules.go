package scans

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/config/configapi"
)

// Schedule launches a template, or a template group, when due.
type Schedule struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	TemplateID      *string     `json:"template_id"`
	TemplateGroupID *string     `json:"template_group_id"`
	Timing          Timing      `json:"timing"`
	Enabled         bool        `json:"enabled"`
	NextRunAt       *time.Time  `json:"next_run_at" doc:"When it fires next, jitter included."`
	Upcoming        []time.Time `json:"upcoming" doc:"The next cron times after that, before jitter."`
	LastRunAt       *time.Time  `json:"last_run_at"`
	LastError       string      `json:"last_error" doc:"Why its last run launched nothing, if it did not."`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

// ScheduleInput is the body of POST /api/v1/schedules.
type ScheduleInput struct {
	Name            string `json:"name"`
	TemplateID      string `json:"template_id,omitempty"`
	TemplateGroupID string `json:"template_group_id,omitempty"`
	Timing          Timing `json:"timing"`
	Enabled         *bool  `json:"enabled,omitempty" doc:"Default true."`
}

// ScheduleUpdate is the body of PATCH /api/v1/schedules/{id}; absent fields are left as they are.
type ScheduleUpdate struct {
	Name    *string `json:"name,omitempty"`
	Timing  *Timing `json:"timing,omitempty"`
	Enabled *bool   `json:"enabled,omitempty"`
}

const scheduleColumns = `id, name, template_id, template_group_id, timing, enabled, next_run_at, last_run_at, last_error, created_at, updated_at`

func scanSchedule(row pgx.Row) (*Schedule, error) {
	s := &Schedule{}
	var timing []byte
	err := row.Scan(&s.ID, &s.Name, &s.TemplateID, &s.TemplateGroupID, &timing, &s.Enabled, &s.NextRunAt, &s.LastRunAt, &s.LastError, &s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("schedule")
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(timing, &s.Timing); err != nil {
		return nil, err
	}
	if s.Timing.Blackouts == nil {
		s.Timing.Blackouts = []Blackout{}
	}
	s.Upcoming = []time.Time{}
	if p, err := s.Timing.Compile(); err == nil && s.NextRunAt != nil {
		s.Upcoming = p.Upcoming(*s.NextRunAt, 5)
	}
	return s, nil
}

func getSchedule(ctx context.Context, db app.Querier, id string) (*Schedule, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("schedule")
	}
	return scanSchedule(db.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1`, id))
}

var scheduleSorts = []string{"name", "next_run_at", "last_run_at", "created_at"}

func listSchedules(ctx context.Context, db app.Querier, l app.List) (app.Page[*Schedule], error) {
	rows, err := db.Query(ctx, `SELECT `+scheduleColumns+` FROM schedules ORDER BY `+l.Sort+` `+l.Direction()+` NULLS LAST, id LIMIT $1 OFFSET $2`, l.Limit+1, l.Offset)
	out, err := app.Collect(rows, err, scanSchedule)
	if err != nil {
		return app.Page[*Schedule]{}, err
	}
	return app.Paginate(l, out), nil
}

var scheduleName = regexp.MustCompile(`^[^\x00-\x1f]{1,128}$`)

// checkTarget makes sure what a schedule launches exists now.
func checkTarget(ctx context.Context, db app.Querier, templateID, groupID string, now time.Time) error {
	switch {
	case templateID != "" && groupID != "":
		return app.Invalid("template_group_id", "template_or_group", "a schedule launches a template or a template group, not both")
	case templateID != "":
		if _, err := configapi.ResolveScope(ctx, db, templateID, now); err != nil {
			return app.IfNotFound(err, app.Invalid("template_id", "unknown_template", "no template with that id"))
		}
	case groupID != "":
		if _, err := configapi.TemplateGroupMembers(ctx, db, groupID); err != nil {
			return app.IfNotFound(err, app.Invalid("template_group_id", "unknown_template_group", "no template group with that id"))
		}
	default:
		return app.Invalid("template_id", "required", "give the template (template_id) or template group (template_group_id) to launch")
	}
	return nil
}

func createSchedule(ctx context.Context, tx pgx.Tx, in ScheduleInput, now time.Time, rnd *rand.Rand) (*Schedule, error) {
	in.Name = strings.TrimSpace(in.Name)
	if !scheduleName.MatchString(in.Name) {
		return nil, app.Invalid("name", "invalid_name", "a schedule needs a name of 1 to 128 characters")
	}
	if err := checkTarget(ctx, tx, in.TemplateID, in.TemplateGroupID, now); err != nil {
		return nil, err
	}
	next, err := nextRun(in.Timing, now, rnd)
	if err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	timing, _ := json.Marshal(in.Timing)
	id := uuid.NewString()
	_, err = tx.Exec(ctx, `INSERT INTO schedules (id, name, template_id, template_group_id, timing, enabled, next_run_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, in.Name, nilIfEmpty(in.TemplateID), nilIfEmpty(in.TemplateGroupID), timing, enabled, next, now)
	if app.IsUniqueViolation(err) {
		return nil, &app.Error{Status: 409, Code: "name_taken", Field: "name", Message: "a schedule named " + in.Name + " exists"}
	}
	if err != nil {
		return nil, err
	}
	return getSchedule(ctx, tx, id)
}

// nextRun validates a timing and computes its first start after now.
func nextRun(t Timing, now time.Time, rnd *rand.Rand) (time.Time, error) {
	p, err := t.Compile()
	if err != nil {
		return time.Time{}, prefixField("timing.", err)
	}
	next, err := p.Next(now, rnd)
	return next, prefixField("timing.", err)
}

func prefixField(prefix string, err error) error {
	var e *app.Error
	if errors.As(err, &e) && e.Field != "" {
		c := *e
		c.Field = prefix + e.Field
		return &c
	}
	return err
}

func updateSchedule(ctx context.Context, tx pgx.Tx, id string, in ScheduleUpdate, now time.Time, rnd *rand.Rand) (before, after *Schedule, err error) {
	if before, err = getSchedule(ctx, tx, id); err != nil {
		return
	}
	name, timing, enabled := before.Name, before.Timing, before.Enabled
	if in.Name != nil {
		if name = strings.TrimSpace(*in.Name); !scheduleName.MatchString(name) {
			return nil, nil, app.Invalid("name", "invalid_name", "a schedule needs a name of 1 to 128 characters")
		}
	}
	if in.Timing != nil {
		timing = *in.Timing
	}
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	next, err := nextRun(timing, now, rnd)
	if err != nil {
		return nil, nil, err
	}
	raw, _ := json.Marshal(timing)
	_, err = tx.Exec(ctx, `UPDATE schedules SET name = $2, timing = $3, enabled = $4, next_run_at = $5, updated_at = $6 WHERE id = $1`,
		id, name, raw, enabled, next, now)
	if app.IsUniqueViolation(err) {
		return nil, nil, &app.Error{Status: 409, Code: "name_taken", Field: "name", Message: "a schedule named " + name + " exists"}
	}
	if err != nil {
		return nil, nil, err
	}
	after, err = getSchedule(ctx, tx, id)
	return before, after, err
}

// launchDue launches every enabled schedule whose time has come — once, however many of its
// runs were missed while no dispatcher led — and sets its next run after now.
func (d *dispatcher) launchDue(ctx context.Context) error {
	now := d.Clock.Now()
	rows, err := d.ConfigDB.Query(ctx, `SELECT id FROM schedules WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at`, now)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := d.runSchedule(ctx, id, now); err != nil {
			return err
		}
	}
	return nil
}

func (d *dispatcher) runSchedule(ctx context.Context, id string, now time.Time) error {
	var launched []*Scan
	ran := false
	err := app.InTx(ctx, d.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		s, err := scanSchedule(ch.Tx.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1 AND enabled AND next_run_at <= $2
			FOR UPDATE SKIP LOCKED`, id, now))
		if app.IsNotFound(err) {
			return nil // taken by another run, changed or disabled meanwhile
		}
		if err != nil {
			return err
		}
		ran = true
		ctx = app.WithPrincipal(ctx, app.System("schedule:"+s.Name))
		launchErr := d.launchInSavepoint(ctx, ch.Tx, s, now, &launched)
		next, err := nextRun(s.Timing, now, d.rnd)
		if err != nil {
			return err
		}
		lastError := ""
		if launchErr != nil {
			lastError = launchErr.Error()
		}
		if _, err := ch.Tx.Exec(ctx, `UPDATE schedules SET next_run_at = $2, last_run_at = $3, last_error = $4 WHERE id = $1`, id, next, now, lastError); err != nil {
			return err
		}
		return auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "schedule.run", ResourceType: "schedule", ResourceID: id, Outcome: outcome(launchErr),
			Detail: map[string]any{"scans": len(launched), "error": lastError, "next_run_at": next}})
	})
	if err == nil && ran && len(launched) == 0 {
		d.emit(ctx, "schedule.failed", id, map[string]any{"at": now})
	}
	return err
}

// launchInSavepoint launches a schedule's scans; if that fails, only the launch is undone and
// the schedule still moves on to its next run.
func (d *dispatcher) launchInSavepoint(ctx context.Context, tx pgx.Tx, s *Schedule, now time.Time, out *[]*Scan) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	in := Launch{}
	if s.TemplateID != nil {
		in.TemplateID = *s.TemplateID
	}
	if s.TemplateGroupID != nil {
		in.TemplateGroupID = *s.TemplateGroupID
	}
	r, err := resolveLaunch(ctx, d.ConfigDB, in, now)
	if err != nil {
		sp.Rollback(ctx)
		return err
	}
	scans, err := recordLaunch(ctx, sp, r, &s.ID, now, d.maxProbes)
	if err != nil {
		sp.Rollback(ctx)
		return err
	}
	*out = scans
	return sp.Commit(ctx)
}

func outcome(err error) string {
	if err != nil {
		return auditapi.Failure
	}
	return auditapi.Success
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
