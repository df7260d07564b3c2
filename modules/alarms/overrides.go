package alarms

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// RuleView is a rule as it applies now: its defaults and the operator's override merged.
type RuleView struct {
	Rule
	EffectiveSeverity      string             `json:"severity" doc:"The severity a new alarm of this rule opens with."`
	Disabled               bool               `json:"disabled" doc:"A disabled rule opens no alarms; its recovery events still resolve open ones."`
	EffectiveThresholds    map[string]float64 `json:"thresholds"`
	EscalateAfterMinutes   int                `json:"escalate_after_minutes" doc:"An alarm still open (not acknowledged) this long moves one severity up, and again after each further window; 0 never."`
	DefaultEscalateMinutes int                `json:"default_escalate_after_minutes"`
	Overridden             bool               `json:"overridden"`
	UpdatedAt              *time.Time         `json:"updated_at"`
}

// RuleUpdate changes a rule's override; absent fields are left as they are.
type RuleUpdate struct {
	Severity             *string             `json:"severity,omitempty" doc:"critical, major, minor, warning or info."`
	Disabled             *bool               `json:"disabled,omitempty"`
	Thresholds           *map[string]float64 `json:"thresholds,omitempty" doc:"Values for the rule's thresholds; names it does not have are refused."`
	EscalateAfterMinutes *int                `json:"escalate_after_minutes,omitempty" doc:"0 to 10080 (a week); 0 never escalates."`
	Reset                bool                `json:"reset,omitempty" doc:"Drop the override: the rule's defaults apply again."`
}

func view(r Rule) RuleView {
	return RuleView{Rule: r, EffectiveSeverity: r.Severity, EffectiveThresholds: maps.Clone(r.Thresholds),
		EscalateAfterMinutes: int(r.EscalateAfter / time.Minute), DefaultEscalateMinutes: int(r.EscalateAfter / time.Minute)}
}

func (v RuleView) thresholds() map[string]float64 { return v.EffectiveThresholds }

func (v RuleView) escalateAfter() time.Duration {
	return time.Duration(v.EscalateAfterMinutes) * time.Minute
}

// loadRules reads every override and returns each built-in rule with its override applied.
func loadRules(ctx context.Context, db app.Querier) ([]RuleView, error) {
	rows, err := db.Query(ctx, `SELECT rule_id, severity, disabled, thresholds, EXTRACT(epoch FROM escalate_after)::int, updated_at FROM alarm_rule_overrides`)
	if err != nil {
		return nil, err
	}
	type override struct {
		severity   *string
		disabled   bool
		thresholds []byte
		escalate   *int
		updated    time.Time
	}
	got := map[string]override{}
	var id string
	var o override
	if _, err := pgx.ForEachRow(rows, []any{&id, &o.severity, &o.disabled, &o.thresholds, &o.escalate, &o.updated}, func() error {
		got[id] = o
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]RuleView, 0, len(builtinRules))
	for _, r := range builtinRules {
		v := view(r)
		if o, ok := got[r.ID]; ok {
			v.Overridden, v.Disabled, v.UpdatedAt = true, o.disabled, &o.updated
			if o.severity != nil {
				v.EffectiveSeverity = *o.severity
			}
			if o.escalate != nil {
				v.EscalateAfterMinutes = *o.escalate / 60
			}
			var th map[string]float64
			if json.Unmarshal(o.thresholds, &th) == nil {
				for k, val := range th {
					if _, known := v.EffectiveThresholds[k]; known {
						v.EffectiveThresholds[k] = val
					}
				}
			}
		}
		if v.EffectiveThresholds == nil {
			v.EffectiveThresholds = map[string]float64{}
		}
		out = append(out, v)
	}
	return out, nil
}

// updateRule validates and stores an override; it returns the rule before and after.
func updateRule(ctx context.Context, tx pgx.Tx, id string, in RuleUpdate, now time.Time) (before, after RuleView, err error) {
	rule, ok := ruleByID(id)
	if !ok {
		return before, after, app.NotFound("alarm rule")
	}
	all, err := loadRules(ctx, tx)
	if err != nil {
		return before, after, err
	}
	before = all[slices.IndexFunc(all, func(v RuleView) bool { return v.ID == id })]
	if in.Reset {
		if _, err := tx.Exec(ctx, `DELETE FROM alarm_rule_overrides WHERE rule_id = $1`, id); err != nil {
			return before, after, err
		}
		return before, view(rule), nil
	}
	after = before
	after.EffectiveThresholds = maps.Clone(before.EffectiveThresholds)
	if in.Severity != nil {
		if !slices.Contains(Severities, *in.Severity) {
			return before, after, app.Invalid("severity", "invalid_severity", "severity must be one of "+strings.Join(Severities, ", "))
		}
		after.EffectiveSeverity = *in.Severity
	}
	if in.Disabled != nil {
		after.Disabled = *in.Disabled
	}
	if in.EscalateAfterMinutes != nil {
		if m := *in.EscalateAfterMinutes; m < 0 || m > 7*24*60 {
			return before, after, app.Invalid("escalate_after_minutes", "invalid_escalation", "escalate_after_minutes must be from 0 (never) to 10080 (a week)")
		}
		after.EscalateAfterMinutes = *in.EscalateAfterMinutes
	}
	if in.Thresholds != nil {
		names := slices.Sorted(maps.Keys(rule.Thresholds))
		for k, val := range *in.Thresholds {
			if _, known := rule.Thresholds[k]; !known {
				msg := "rule " + id + " has no thresholds"
				if len(names) > 0 {
					msg = "rule " + id + " has no threshold " + k + "; its thresholds are " + strings.Join(names, ", ")
				}
				return before, after, app.Invalid("thresholds."+k, "unknown_threshold", msg)
			}
			if val < 0 || val > 1e6 {
				return before, after, app.Invalid("thresholds."+k, "invalid_threshold", "thresholds must be from 0 to 1000000")
			}
			after.EffectiveThresholds[k] = val
		}
	}
	changed := map[string]float64{}
	for k, v := range after.EffectiveThresholds {
		if rule.Thresholds[k] != v {
			changed[k] = v
		}
	}
	th, _ := json.Marshal(changed)
	var sev *string
	if after.EffectiveSeverity != rule.Severity {
		sev = &after.EffectiveSeverity
	}
	var esc *string
	if after.EscalateAfterMinutes != after.DefaultEscalateMinutes {
		s := (time.Duration(after.EscalateAfterMinutes) * time.Minute).String()
		esc = &s
	}
	_, err = tx.Exec(ctx, `INSERT INTO alarm_rule_overrides (rule_id, severity, disabled, thresholds, escalate_after, updated_at)
		VALUES ($1, $2, $3, $4, $5::interval, $6) ON CONFLICT (rule_id) DO UPDATE SET severity = EXCLUDED.severity,
		disabled = EXCLUDED.disabled, thresholds = EXCLUDED.thresholds, escalate_after = EXCLUDED.escalate_after, updated_at = EXCLUDED.updated_at`,
		id, sev, after.Disabled, th, esc, now)
	after.Overridden, after.UpdatedAt = true, &now
	return before, after, err
}

// ruleCache keeps the effective rules for the hot path (every event), reloaded every few
// seconds and at once after a change in this process.
type ruleCache struct {
	mu     sync.Mutex
	rules  []RuleView
	loaded time.Time
}

const ruleCacheTTL = 5 * time.Second

func (c *ruleCache) get(ctx context.Context, db app.Querier) ([]RuleView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rules != nil && time.Since(c.loaded) < ruleCacheTTL {
		return c.rules, nil
	}
	rules, err := loadRules(ctx, db)
	if err != nil {
		return nil, err
	}
	c.rules, c.loaded = rules, time.Now()
	return rules, nil
}

func (c *ruleCache) invalidate() { c.mu.Lock(); c.rules = nil; c.mu.Unlock() }

// ruleIDs lists the built-in rule ids, sorted, for messages.
func ruleIDs() []string {
	out := make([]string, len(builtinRules))
	for i, r := range builtinRules {
		out[i] = r.ID
	}
	sort.Strings(out)
	return out
}
