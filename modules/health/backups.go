package health

import (
	"context"
	"encoding/json"
	"time"

	"mipo/app"
)

// The backup module's events this module follows. They are named here rather than imported:
// health learns about backups only through the event bus, never through the backup module's
// store (and a manager without the backup role still judges adherence).
const (
	eventBackupSucceeded = "backup.succeeded"
	eventBackupFailed    = "backup.failed"
	eventBackupMissed    = "backup.missed"
)

// recordBackup keeps the latest backup outcome of each kind. Events may arrive twice or out of
// order, so a row only moves forward in time, and the last success only ever grows.
func recordBackup(ctx context.Context, db app.Querier, e app.Event) error {
	switch e.Type {
	case eventBackupSucceeded, eventBackupFailed, eventBackupMissed:
	default:
		return nil
	}
	var success *time.Time
	if e.Type == eventBackupSucceeded {
		success = &e.At
	}
	detail := e.Payload
	if !json.Valid(detail) {
		detail = json.RawMessage("{}")
	}
	_, err := db.Exec(ctx, `INSERT INTO health_backups (kind, last_event, last_event_at, last_success_at, detail)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind) DO UPDATE SET
			last_event = CASE WHEN excluded.last_event_at >= health_backups.last_event_at THEN excluded.last_event ELSE health_backups.last_event END,
			detail = CASE WHEN excluded.last_event_at >= health_backups.last_event_at THEN excluded.detail ELSE health_backups.detail END,
			last_event_at = greatest(health_backups.last_event_at, excluded.last_event_at),
			last_success_at = greatest(health_backups.last_success_at, excluded.last_success_at)`,
		e.Subject, e.Type, e.At, success, detail)
	return err
}

// BackupKind is one backup kind's adherence on the backup component page.
type BackupKind struct {
	Kind          string     `json:"kind" doc:"config or results."`
	LastEvent     string     `json:"last_event" doc:"backup.succeeded, backup.failed or backup.missed."`
	LastEventAt   time.Time  `json:"last_event_at"`
	LastSuccessAt *time.Time `json:"last_success_at"`
}

// backup judges schedule adherence: every kind's latest outcome is a success (a failed or a
// missed run turns the node red until the next success). No backups yet is not a fault.
func (p *prober) backup(ctx context.Context) {
	rows, err := p.m.JobsDB.Query(ctx, `SELECT kind, last_event, last_event_at, last_success_at FROM health_backups ORDER BY kind`)
	if err != nil {
		p.set(Probe{Component: "backup", OK: false, Detail: map[string]any{"error": err.Error()}})
		return
	}
	defer rows.Close()
	d, ok, now := map[string]any{}, true, p.m.Clock.Now()
	var kinds []BackupKind
	for rows.Next() {
		var k BackupKind
		if err := rows.Scan(&k.Kind, &k.LastEvent, &k.LastEventAt, &k.LastSuccessAt); err != nil {
			p.set(Probe{Component: "backup", OK: false, Detail: map[string]any{"error": err.Error()}})
			return
		}
		if k.LastEvent != eventBackupSucceeded {
			ok = false
		}
		if k.LastSuccessAt != nil {
			d[k.Kind+"_hours_since_success"] = now.Sub(*k.LastSuccessAt).Hours()
		}
		kinds = append(kinds, k)
	}
	if err := rows.Err(); err != nil {
		p.set(Probe{Component: "backup", OK: false, Detail: map[string]any{"error": err.Error()}})
		return
	}
	d["kinds"] = kinds
	if len(kinds) == 0 {
		d["note"] = "no backup has run yet"
	}
	p.set(Probe{Component: "backup", OK: ok, Detail: d})
}
