package audit

import (
	"context"
	"time"

	"mipo/app"
)

// checkpointEvery bounds how much of a freshly written tail a checkpoint has not yet seen: a
// tail cut within this window of its writing is caught only by a later anchor (a backup).
const checkpointEvery = 10 * time.Second

func chainOf(m *app.Mount) Chain {
	return Chain{Config: m.DB.Config, Jobs: m.DB.Jobs, Key: m.Config.AuditKey}
}

func init() {
	app.Register(app.Module{
		Name:     "audit",
		Roles:    []string{app.RoleManager},
		Requires: []string{"rbac"},
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
			return nil
		},
	})
	app.RegisterCommand(verifyCommand)
}
