package discovery

import (
	"context"
	"math/rand/v2"
	"time"

	"mipo/app"
	"mipo/modules/config/configapi"
)

func init() {
	app.Register(app.Module{
		Name:      "discovery",
		Databases: []string{app.DBConfig},
		Requires:  []string{"config"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	r := &runner{m: m, managed: configapi.NewManaged(m.Clock), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	m.Routes((&handlers{r: r}).routes()...)
	m.Every("schedule", time.Minute, r.runDue)
	return nil
}

// runDue runs every source whose time has come. Each is claimed by moving its next run
// forward first (SKIP LOCKED), so two managers never run the same source at once.
func (r *runner) runDue(ctx context.Context) error {
	for {
		var id string
		var next *time.Time
		err := app.InTx(ctx, r.m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
			now := r.m.Clock.Now().UTC()
			row := ch.Tx.QueryRow(ctx, `SELECT id::text FROM discovery_sources WHERE next_run_at <= $1 ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED`, now)
			if err := row.Scan(&id); err != nil {
				id = ""
				return nil
			}
			src, err := getSource(ctx, ch.Tx, id, false)
			if err != nil || src.Timing == nil {
				return err
			}
			p, err := src.Timing.Compile()
			if err == nil {
				t, nerr := p.Next(now, r.rnd)
				if nerr == nil {
					next = &t
				}
			}
			_, err = ch.Tx.Exec(ctx, `UPDATE discovery_sources SET next_run_at = $2 WHERE id = $1`, id, next)
			return err
		})
		if err != nil || id == "" {
			return err
		}
		if _, err := r.run(r.system(ctx), id, "schedule", RunInput{}); err != nil {
			r.m.Log.Warn("discovery run failed", "source", id, "err", err)
		}
	}
}
