package alarms

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Snooze is a maintenance window: alarms of a rule, or of one key, still open, bump and
// resolve, but their transitions notify nobody until it ends.
type Snooze struct {
	ID        string    `json:"id"`
	RuleID    string    `json:"rule_id" doc:"The rule snoozed, or empty when a key is."`
	AlarmKey  string    `json:"alarm_key" doc:"The alarm key snoozed, or empty when a rule is."`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// SnoozeInput creates a snooze: exactly one of rule_id and alarm_key.
type SnoozeInput struct {
	RuleID   string    `json:"rule_id,omitempty"`
	AlarmKey string    `json:"alarm_key,omitempty"`
	Until    time.Time `json:"until" doc:"When notifications start again, RFC 3339, within 30 days."`
	Reason   string    `json:"reason" doc:"Why, for the timeline and the audit log (a maintenance ticket, say)."`
}

// SnoozeQuery filters the snooze list.
type SnoozeQuery struct {
	Active bool `query:"active" json:"active,omitempty" doc:"Only snoozes that have not ended."`
}

var errSnoozeNotFound = app.NotFound("snooze")

const snoozeColumns = `id, rule_id, alarm_key, until, reason, created_by, created_at`

func createSnooze(ctx context.Context, tx pgx.Tx, in SnoozeInput, now time.Time) (*Snooze, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case (in.RuleID == "") == (in.AlarmKey == ""):
		return nil, app.Invalid("rule_id", "rule_or_key", "give exactly one of rule_id and alarm_key")
	case in.RuleID != "":
		if _, ok := ruleByID(in.RuleID); !ok {
			return nil, app.Invalid("rule_id", "unknown_rule", "no rule "+in.RuleID+"; rules are "+strings.Join(ruleIDs(), ", "))
		}
	case len(in.AlarmKey) > 500:
		return nil, app.Invalid("alarm_key", "too_long", "alarm_key is at most 500 characters")
	}
	if in.Until.IsZero() || !in.Until.After(now) || in.Until.After(now.Add(30*24*time.Hour)) {
		return nil, app.Invalid("until", "invalid_until", "until must be a time in the next 30 days")
	}
	if in.Reason == "" || len(in.Reason) > 500 {
		return nil, app.Invalid("reason", "invalid_reason", "give a reason of 1 to 500 characters")
	}
	s := &Snooze{ID: uuid.NewString(), RuleID: in.RuleID, AlarmKey: in.AlarmKey, Until: in.Until.UTC(), Reason: in.Reason,
		CreatedBy: actorName(ctx), CreatedAt: now}
	_, err := tx.Exec(ctx, `INSERT INTO alarm_snoozes (`+snoozeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ID, s.RuleID, s.AlarmKey, s.Until, s.Reason, s.CreatedBy, s.CreatedAt)
	return s, err
}

func listSnoozes(ctx context.Context, db app.Querier, activeAt *time.Time) ([]Snooze, error) {
	rows, err := db.Query(ctx, `SELECT `+snoozeColumns+` FROM alarm_snoozes WHERE $1::timestamptz IS NULL OR until > $1
		ORDER BY until DESC LIMIT 500`, activeAt)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Snooze])
	if out == nil {
		out = []Snooze{}
	}
	return out, err
}

func deleteSnooze(ctx context.Context, tx pgx.Tx, id string) (*Snooze, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errSnoozeNotFound
	}
	rows, err := tx.Query(ctx, `DELETE FROM alarm_snoozes WHERE id = $1 RETURNING `+snoozeColumns, id)
	if err != nil {
		return nil, err
	}
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByPos[Snooze])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSnoozeNotFound
	}
	return s, err
}

// snoozedBy returns the reason a transition of alarm a at time at is snoozed, or "".
func snoozedBy(snoozes []Snooze, a *Alarm, at time.Time) string {
	for _, s := range snoozes {
		if s.Until.After(at) && !s.CreatedAt.After(at) && (s.RuleID == a.RuleID || (s.AlarmKey != "" && s.AlarmKey == a.Key)) {
			return s.Reason
		}
	}
	return ""
}
