package audit

import (
	"context"
	"time"

	"mipo/app"
)

// checkpointEvery bounds how much of a freshly written tail a checkpoint has not yet seen: a
// tail cut within this window of its writing is caught only by a later anchor (a backup).
const checkpointEvery = 10 * time.Second

// written carries "a record was committed" from writers to the checkpointer, dropping the
// signal when one is already waiting (one checkpoint covers any number of records). A process
// without the audit module (ingest) never reads it; its records are seen by the periodic run.
var written = make(chan struct{}, 1)

func wrote() {
	select {
	case written <- struct{}{}:
	default:
	}
}

// checkpointAfterWrites checkpoints shortly after records are written: it waits a moment after
// the first signal so a burst of writes makes one checkpoint, not one each.
func checkpointAfterWrites(ctx context.Context, m *app.Mount) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-written:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointSettle):
		}
		if err := Checkpoint(ctx, chainOf(m)); err != nil && ctx.Err() == nil {
			m.Log.Warn("audit checkpoint after a write", "err", err)
		}
	}
}

// checkpointSettle is how long the checkpointer lets a burst of writes settle.
const checkpointSettle = 500 * time.Millisecond

func chainOf(m *app.Mount) Chain {
	return Chain{Config: m.ConfigDB.Pool(), Jobs: m.JobsDB.Pool(), Key: m.Config.AuditKey}
}

func init() {
	app.Register(app.Module{
		Name:      "audit",
		Databases: []string{app.DBConfig, app.DBJobs}, // the log, and its checkpoints
		Requires:  []string{"rbac"},
		Provision: func(m *app.Mount) error {
			m.Routes(handlers{m}.routes()...)
			// The first checkpoint at start anchors whatever an older release wrote unkeyed;
			// later ones follow the head, at most checkpointEvery behind it.
			m.OnStart(func(ctx context.Context) error {
				// A wrong key is said loudly but does not keep the manager down: the records
				// are still written, and verify names the problem.
				if err := Checkpoint(ctx, chainOf(m)); err != nil {
					m.Log.Error("audit checkpoint", "err", err)
				}
				return nil
			})
			m.Every("audit-checkpoint", checkpointEvery, func(ctx context.Context) error { return Checkpoint(ctx, chainOf(m)) })
			var stop context.CancelFunc
			m.OnStart(func(ctx context.Context) error {
				ctx, stop = context.WithCancel(ctx)
				go checkpointAfterWrites(ctx, m)
				return nil
			})
			m.OnStop(func(context.Context) error {
				if stop != nil {
					stop()
				}
				return nil
			})
			return nil
		},
	})
	app.RegisterCommand(verifyCommand)
}
