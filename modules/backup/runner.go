package backup

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// The events this module emits, each with the kind (config or results) as its subject. The
// alarms module's rules fire on the failures and resolve on the successes.
const (
	EventSucceeded            = "backup.succeeded"             // a backup was made
	EventFailed               = "backup.failed"                // a backup could not be made, or its local retention failed
	EventMissed               = "backup.missed"                // a scheduled backup started late: no backup process ran at its time
	EventReplicationSucceeded = "backup.replication.succeeded" // a backup was copied to S3 and S3 retention applied
	EventReplicationFailed    = "backup.replication.failed"    // a backup was not copied to S3, or S3 retention failed
	EventRestored             = "backup.restored"              // a restore switched the databases
)

// missedAfter is how late a scheduled backup may start before it counts as missed.
const missedAfter = 15 * time.Minute

// Activity is what the backup process is doing or last did: one backup or restore at a time.
type Activity struct {
	Op         string     `json:"op" doc:"backup, restore or verify"`
	Running    bool       `json:"running"`
	Step       string     `json:"step"`
	Done       int64      `json:"done" doc:"bytes processed"`
	Total      int64      `json:"total" doc:"bytes to process; 0 while unknown"`
	Error      string     `json:"error,omitempty"`
	BackupIDs  []string   `json:"backup_ids"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Runner runs backups on schedule and on demand, replicates and prunes them, and restores.
type Runner struct {
	*Service
	Events  *app.Bus
	Secrets *app.SecretBox
	mu      sync.Mutex
	act     Activity
}

// ErrBusy is returned when a backup or restore is already running.
var ErrBusy = app.Conflict("backup_busy", "a backup or restore is already running; wait for it to finish")

// Activity returns the current or last activity.
func (r *Runner) Activity() Activity {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.act
	a.BackupIDs = append([]string{}, a.BackupIDs...)
	return a
}

// begin claims the runner for one operation; finish records its end.
func (r *Runner) begin(op string, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.act.Running {
		return ErrBusy
	}
	r.act = Activity{Op: op, Running: true, Step: "starting", BackupIDs: ids, StartedAt: r.now()}
	return nil
}

func (r *Runner) finish(err error, ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.act.Running, r.act.FinishedAt, r.act.Step = false, &now, "done"
	if len(ids) > 0 {
		r.act.BackupIDs = ids
	}
	if err != nil {
		r.act.Error, r.act.Step = err.Error(), "failed"
	}
}

func (r *Runner) progress(step string, done, total int64) {
	r.mu.Lock()
	r.act.Step, r.act.Done, r.act.Total = step, done, total
	r.mu.Unlock()
}

func (r *Runner) emit(ctx context.Context, typ, subject string, payload map[string]any) {
	if r.Events != nil {
		r.Events.Emit(ctx, typ, subject, payload)
	}
}

// Backup makes a backup of one kind now, then applies retention and replicates. It waits for
// the backup to finish.
func (r *Runner) Backup(ctx context.Context, kind string, full bool) (*Manifest, error) {
	if _, ok := kindDatabases[kind]; !ok {
		return nil, app.Invalid("kind", "unknown_kind", "kind must be config or results")
	}
	if err := r.begin("backup", nil); err != nil {
		return nil, err
	}
	m, err := r.backup(ctx, kind, full)
	if err != nil {
		r.finish(err)
		return nil, err
	}
	r.finish(nil, m.ID)
	return m, nil
}

func (r *Runner) backup(ctx context.Context, kind string, full bool) (*Manifest, error) {
	r.progress("backing up "+kind, 0, 0)
	m, err := r.Create(ctx, kind, full)
	if err != nil {
		r.emit(ctx, EventFailed, kind, map[string]any{"kind": kind, "error": err.Error()})
		return nil, err
	}
	r.DB.Config.Exec(ctx, `UPDATE backup_schedules SET last_run_at = $2 WHERE kind = $1`, kind, m.CreatedAt)
	days := 30
	if scheds, err := loadSchedules(ctx, r.DB.Config); err == nil {
		for _, s := range scheds {
			if s.Kind == kind {
				days = s.RetentionDays
			}
		}
	}
	if _, err := r.Prune(kind, days); err != nil {
		r.emit(ctx, EventFailed, kind, map[string]any{"kind": kind, "backup": m.ID, "error": "retention: " + err.Error()})
	}
	r.replicate(ctx, m)
	r.emit(ctx, EventSucceeded, kind, map[string]any{"kind": kind, "backup": m.ID, "bytes": m.Size(), "incremental": m.Incremental})
	return m, nil
}

// replicate copies a new backup to S3 when replication is on, and applies S3 retention.
func (r *Runner) replicate(ctx context.Context, m *Manifest) {
	target, rep, err := loadTarget(ctx, r.DB.Config, r.Secrets)
	if err == nil && !rep.Enabled {
		return
	}
	r.progress("replicating "+m.ID+" to S3", 0, m.Size())
	if err == nil {
		err = r.Replicate(ctx, target, m.ID)
	}
	if err == nil {
		_, err = r.PruneRemote(ctx, target, m.Kind, rep.RetentionDays)
	}
	if err != nil {
		r.emit(ctx, EventReplicationFailed, m.Kind, map[string]any{"kind": m.Kind, "backup": m.ID, "bucket": target.Bucket, "error": err.Error()})
		return
	}
	r.emit(ctx, EventReplicationSucceeded, m.Kind, map[string]any{"kind": m.Kind, "backup": m.ID, "bucket": target.Bucket})
}

// Tick runs the schedules that are due. A schedule is claimed by moving its next run in one
// UPDATE, so two backup processes never run the same one; a run that starts more than
// missedAfter late emits backup.missed first.
func (r *Runner) Tick(ctx context.Context) error {
	scheds, err := loadSchedules(ctx, r.DB.Config)
	if err != nil {
		return err
	}
	now := r.now()
	for _, s := range scheds {
		if !s.Enabled {
			continue
		}
		p, err := s.Timing.Compile()
		if err != nil {
			return err
		}
		next, err := p.Next(now, rand.New(rand.NewPCG(uint64(now.UnixNano()), 1)))
		if err != nil {
			return err
		}
		if s.NextRunAt == nil {
			r.DB.Config.Exec(ctx, `UPDATE backup_schedules SET next_run_at = $2 WHERE kind = $1 AND next_run_at IS NULL`, s.Kind, next)
			continue
		}
		if s.NextRunAt.After(now) {
			continue
		}
		tag, err := r.DB.Config.Exec(ctx, `UPDATE backup_schedules SET next_run_at = $3 WHERE kind = $1 AND next_run_at = $2`, s.Kind, *s.NextRunAt, next)
		if err != nil || tag.RowsAffected() == 0 {
			continue // another backup process took it
		}
		if late := now.Sub(*s.NextRunAt); late > missedAfter {
			r.emit(ctx, EventMissed, s.Kind, map[string]any{"kind": s.Kind, "scheduled_at": s.NextRunAt.UTC(), "late_seconds": int(late.Seconds())})
		}
		if _, err := r.Backup(ctx, s.Kind, false); err != nil && !errors.Is(err, ErrBusy) {
			continue // emitted as backup.failed
		}
	}
	return nil
}

// StartRestore checks the request and starts a restore in the background; Activity shows its
// progress. source "s3" fetches the chains from the bucket first.
func (r *Runner) StartRestore(ctx context.Context, source string, ids []string) error {
	if len(ids) == 0 {
		return app.Invalid("ids", "required", "choose at least one backup to restore")
	}
	if source != "local" && source != "s3" {
		return app.Invalid("source", "invalid", "source must be local or s3")
	}
	if source == "local" {
		for _, id := range ids {
			if _, err := r.Check(id); err != nil {
				return classify(err)
			}
		}
	}
	if err := r.begin("restore", ids); err != nil {
		return err
	}
	go func() {
		ctx := context.WithoutCancel(ctx)
		err := r.restore(ctx, source, ids)
		r.finish(err)
	}()
	return nil
}

func (r *Runner) restore(ctx context.Context, source string, ids []string) error {
	if source == "s3" {
		target, _, err := loadTarget(ctx, r.DB.Config, r.Secrets)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r.progress("downloading "+id+" from S3", 0, 0)
			if err := r.Fetch(ctx, target, id); err != nil {
				return fmt.Errorf("fetching %s from S3: %w", id, err)
			}
		}
	}
	if err := r.Restore(ctx, ids, r.progress); err != nil {
		return err
	}
	// The restored audit log goes on from the backup's head: say in it that it was restored.
	auditapi.RecordNow(ctx, r.DB.ConfigDB(), auditapi.Entry{Action: "backup.restore", ResourceType: "backup", ResourceID: ids[0],
		Detail: map[string]any{"backups": ids, "source": source}, Actor: &auditapi.Actor{Kind: "system", Name: "backup"}})
	r.emit(ctx, EventRestored, "restore", map[string]any{"backups": ids, "source": source})
	return nil
}

// Wait returns until the current operation ends (tests and the CLI).
func (r *Runner) Wait(ctx context.Context) Activity {
	for {
		a := r.Activity()
		if !a.Running || ctx.Err() != nil {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
}
