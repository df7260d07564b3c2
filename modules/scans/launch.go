package scans

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/config/configapi"
)

// Launch is the body of POST /api/v1/scans: a template, or a template group (one scan per
// template).
type Launch struct {
	TemplateID      string `json:"template_id,omitempty"`
	TemplateGroupID string `json:"template_group_id,omitempty"`
}

// Launched answers a launch with the scans it recorded.
type Launched struct {
	Items []*Scan `json:"items"`
}

// A resolved launch: the scopes of the templates to launch, all read from one snapshot.
type resolved struct {
	groupID *string
	scopes  []*configapi.Scope
}

// resolveLaunch resolves what a launch means now: the template (or the templates of the group)
// and each one's scope, in one REPEATABLE READ snapshot (as configapi.ResolveScope asks), so a
// configuration change committing meanwhile is in every scope or in none. It runs before the
// launch's write transaction, never inside it: see app.ReadSnapshot.
func resolveLaunch(ctx context.Context, pool app.ConfigDB, in Launch, now time.Time) (resolved, error) {
	var r resolved
	if in.TemplateID != "" && in.TemplateGroupID != "" {
		return r, app.Invalid("template_group_id", "template_or_group", "launch a template or a template group, not both")
	}
	if in.TemplateID == "" && in.TemplateGroupID == "" {
		return r, app.Invalid("template_id", "required", "give the template (template_id) or template group (template_group_id) to launch")
	}
	err := app.ReadSnapshot(ctx, pool, func(ctx context.Context, snap pgx.Tx) error {
		templates := []string{in.TemplateID}
		if in.TemplateGroupID != "" {
			ids, err := configapi.TemplateGroupMembers(ctx, snap, in.TemplateGroupID)
			if err != nil {
				return app.IfNotFound(err, app.Invalid("template_group_id", "unknown_template_group", "no template group with that id"))
			}
			if len(ids) == 0 {
				return app.Invalid("template_group_id", "empty_template_group", "the template group holds no templates")
			}
			templates, r.groupID = ids, &in.TemplateGroupID
		}
		for _, tid := range templates {
			scope, err := configapi.ResolveScope(ctx, snap, tid, now)
			if err != nil {
				return app.IfNotFound(err, app.Invalid("template_id", "unknown_template", "no template with that id"))
			}
			r.scopes = append(r.scopes, scope)
		}
		return nil
	})
	return r, err
}

// recordLaunch records one scan per resolved template with its scope frozen, audited, in tx.
// It refuses a scope too large to scan before anything is recorded. The dispatcher does the
// rest.
func recordLaunch(ctx context.Context, tx pgx.Tx, r resolved, scheduleID *string, now time.Time, limit int64) ([]*Scan, error) {
	var out []*Scan
	for _, scope := range r.scopes {
		if err := CheckSize(scope.Targets, scope.Ports, limit); err != nil {
			return nil, err
		}
		if err := checkScanners(scope); err != nil {
			return nil, err
		}
		// A time-ordered id (UUIDv7): observations are indexed by scan first, and an id that
		// grows with time appends to that index rather than landing on a random page of it.
		s := &Scan{ID: uuid.Must(uuid.NewV7()).String(), TemplateID: scope.TemplateID, TemplateName: scope.TemplateName, TemplateVersion: scope.TemplateVersion,
			TemplateGroupID: r.groupID, ScheduleID: scheduleID, Scope: scope, Mode: scope.ScannerMode, Status: Pending,
			Addresses: scope.Targets.Count().String(), Ports: scope.Ports.Count(), Probes: Probes(scope.Targets, scope.Ports).String(),
			LaunchedBy: actorName(ctx), CreatedAt: now, ScannerIDs: []string{}}
		if err := insert(ctx, tx, s); err != nil {
			return nil, err
		}
		if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "scan.launch", ResourceType: "scan", ResourceID: s.ID, ResourceName: s.Name(),
			Detail: map[string]any{"template": s.TemplateName, "template_id": s.TemplateID, "template_version": s.TemplateVersion,
				"addresses": s.Addresses, "ports": s.Ports, "scheduled": scheduleID != nil}}); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func checkScanners(s *configapi.Scope) error {
	if s.ScannerMode == "vantage" && len(s.ScannerGroupIDs) == 0 || s.ScannerMode != "vantage" && len(s.ScannerIDs) == 0 {
		return app.Invalid("template_id", "no_scanners", "the template names no scanners (a pool) or scanner groups (vantage) to run it")
	}
	return nil
}

func actorName(ctx context.Context) string {
	if p := app.PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return "system"
}

// cancel stops an open scan: queued jobs end at once, running ones when their scanner next
// reports (it is told to stop). The scan is marked cancelled when its jobs have ended.
func cancel(ctx context.Context, tx pgx.Tx, id string, now time.Time) (*Scan, error) {
	s, err := Get(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !s.Open() {
		return nil, app.Conflict("scan_finished", "the scan has ended already ("+s.Status+")")
	}
	if _, err := tx.Exec(ctx, `UPDATE scans SET status = 'cancelled', status_detail = $2, finished_at = $3 WHERE id = $1`,
		id, "cancelled by "+actorName(ctx), now); err != nil {
		return nil, err
	}
	after, err := Get(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return after, auditapi.Record(ctx, tx, auditapi.Entry{Action: "scan.cancel", ResourceType: "scan", ResourceID: id, ResourceName: s.Name(),
		Before: map[string]string{"status": s.Status}, After: map[string]string{"status": after.Status}})
}
