package findings

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// Triage actions.
const (
	ActionAccept = "accept"
	ActionRisk   = "risk"
	ActionAssign = "assign"
	ActionReopen = "reopen"
)

var severities = []string{"info", "warning", "minor", "major", "critical"}

// Decision is one triage decision about a finding.
type Decision struct {
	Action    string     `json:"action" doc:"accept, risk, assign or reopen."`
	Reason    string     `json:"reason,omitempty" doc:"Why it is accepted (required to accept)."`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When an acceptance ends and the finding is open again; none for a lasting one."`
	Severity  string     `json:"severity,omitempty" doc:"For risk: info, warning, minor, major or critical."`
	Assignee  string     `json:"assignee,omitempty" doc:"For assign: the user's name; empty to unassign."`
}

// BulkDecision applies one decision to every finding a filter selects.
type BulkDecision struct {
	Filter Query `json:"filter" doc:"The same filter the list takes; limit and cursor are ignored."`
	Decision
}

// BulkResult says what a bulk decision changed.
type BulkResult struct {
	Changed int      `json:"changed"`
	IDs     []string `json:"ids"`
}

func (d *Decision) validate(now time.Time) error {
	d.Reason = strings.TrimSpace(d.Reason)
	switch d.Action {
	case ActionAccept:
		if d.Reason == "" {
			return app.Invalid("reason", "reason_required", "accepting a finding needs a reason")
		}
		if len(d.Reason) > 2000 {
			return app.Invalid("reason", "reason_too_long", "reason is at most 2000 characters")
		}
		if d.ExpiresAt != nil && !d.ExpiresAt.After(now) {
			return app.Invalid("expires_at", "expiry_in_past", "expires_at must be in the future")
		}
	case ActionRisk:
		if !slices.Contains(severities, d.Severity) {
			return app.Invalid("severity", "invalid_severity", "severity must be info, warning, minor, major or critical")
		}
	case ActionAssign:
		d.Assignee = strings.TrimSpace(d.Assignee)
		if len(d.Assignee) > 200 {
			return app.Invalid("assignee", "invalid_assignee", "assignee is at most 200 characters")
		}
	case ActionReopen:
	default:
		return app.Invalid("action", "invalid_action", "action must be accept, risk, assign or reopen")
	}
	return nil
}

// decide applies a validated decision to one locked finding and records its history line, in
// tx; it returns the audit entry (the finding before and after) for the caller to record.
func decide(ctx context.Context, tx pgx.Tx, id string, d Decision, now time.Time) (after *Finding, e auditapi.Entry, err error) {
	before, err := getFinding(ctx, tx, id, true)
	if err != nil {
		return nil, e, err
	}
	if before.State == StateClosed && d.Action != ActionAssign {
		return nil, e, app.Conflict("finding_closed", "finding "+id+" is closed: the port was seen closed; only its assignee can change")
	}
	actor := actorName(ctx)
	var q string
	args := []any{id, now}
	switch d.Action {
	case ActionAccept:
		q = `state = 'accepted', accept_reason = $3, accept_expires_at = $4, accepted_by = $5, accepted_at = $2, severity = NULL`
		args = append(args, d.Reason, d.ExpiresAt, actor)
	case ActionRisk:
		q = `state = 'risk', severity = $3, accept_reason = '', accept_expires_at = NULL, accepted_by = '', accepted_at = NULL`
		args = append(args, d.Severity)
	case ActionAssign:
		q = `assignee = $3`
		args = append(args, d.Assignee)
	case ActionReopen:
		q = `state = 'open', severity = NULL, accept_reason = '', accept_expires_at = NULL, accepted_by = '', accepted_at = NULL`
	}
	after, err = scanFinding(tx.QueryRow(ctx, `UPDATE findings SET `+q+`, updated_at = $2 WHERE id = $1 RETURNING `+findingColumns, args...))
	if err != nil {
		return nil, e, err
	}
	action := map[string]string{ActionAccept: "accepted", ActionRisk: "risk", ActionAssign: "assigned", ActionReopen: "reopened_by_hand"}[d.Action]
	if err := addEvent(ctx, tx, id, now, action, actor, nil, before, after); err != nil {
		return nil, e, err
	}
	detail := map[string]any{"address": after.Address, "port": after.Port}
	if d.Reason != "" {
		detail["reason"] = d.Reason
	}
	return after, auditapi.Entry{Action: "finding." + d.Action, ResourceType: "finding", ResourceID: id,
		Before: before, After: after, Detail: detail}, nil
}

// ExpireAcceptances reopens every accepted finding whose acceptance has run out by now, each
// audited with its state before and after, and announces them together.
func (s *Service) ExpireAcceptances(ctx context.Context) (int, error) {
	ctx = app.WithPrincipal(ctx, app.System("findings.expiry"))
	now := s.Clock.Now()
	var expired []*Finding
	err := app.InTx(ctx, s.Config, func(ctx context.Context, ch *app.Change) error {
		rows, err := ch.Tx.Query(ctx, `SELECT `+findingColumns+` FROM findings WHERE state = 'accepted' AND accept_expires_at <= $1
			ORDER BY accept_expires_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED`, now)
		due, err := app.Collect(rows, err, scanFinding)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, before := range due {
			after, err := scanFinding(ch.Tx.QueryRow(ctx, `UPDATE findings SET state = 'open', updated_at = $2 WHERE id = $1 RETURNING `+findingColumns,
				before.ID, now))
			if err != nil {
				return err
			}
			if err := addEvent(ctx, ch.Tx, before.ID, now, "acceptance_expired", "", nil, before, after); err != nil {
				return err
			}
			if err := auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "finding.acceptance_expired", ResourceType: "finding", ResourceID: before.ID,
				Before: before, After: after, Detail: map[string]any{"address": after.Address, "port": after.Port, "expired_at": before.AcceptExpiresAt}}); err != nil {
				return err
			}
			expired = append(expired, after)
		}
		p := NoticePayload{Count: len(expired), Link: s.link(ctx, ch.Tx, "/findings?state=open")}
		for _, f := range expired {
			if len(p.Findings) < maxFindingsInMessage {
				p.Findings = append(p.Findings, Notice{Address: f.Address, Port: f.Port, Kind: "acceptance_expired", ID: f.ID})
			}
		}
		subject := "expiry-" + now.UTC().Format(time.RFC3339Nano)
		ch.AfterCommit(func(ctx context.Context) {
			if err := s.Events.Emit(ctx, EventAcceptExpired, subject, p); err != nil {
				s.Log.Error("findings: announcing expired acceptances", "err", err)
			}
		})
		return nil
	})
	return len(expired), err
}
