package scans

import (
	"context"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
)

func init() {
	// The manager side: the API and pages.
	app.Register(app.Module{
		Name: "scans",
		// The results database only for reading each completed scan's outcome (resultsapi.Outcomes).
		Databases: []string{app.DBConfig, app.DBJobs, app.DBResults},
		Requires:  []string{"rbac"},
		Provision: func(m *app.Mount) error {
			h := &handlers{m: m, maxProbes: int64(settingMaxProbes.Get(m.Config)), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
			// Templates are refused at save, and flagged while edited, past the launch limit.
			configapi.ProvideLaunchLimit(h.maxProbes)
			m.Routes(h.routes()...)
			return nil
		},
	})
	// The dispatcher: one leader among every dispatcher process, the rest hot standbys.
	app.Register(app.Module{
		Name:      "dispatcher",
		Databases: []string{app.DBConfig, app.DBJobs},
		Provision: func(m *app.Mount) error {
			d := newDispatcher(deps{ConfigDB: m.ConfigDB, JobsDB: m.JobsDB, Clock: m.Clock, Events: m.Events, Log: m.Log}, m.Config)
			m.Lead("dispatcher", d.run)
			return nil
		},
	})
}

// Schedules use templates and template groups: deleting one a schedule launches is refused,
// naming the schedule.
func init() {
	for kind, column := range map[string]string{configapi.KindTemplate: "template_id", configapi.KindTemplateGroup: "template_group_id"} {
		configapi.RegisterUsers(kind, func(ctx context.Context, db app.Querier, id string) ([]string, error) {
			rows, err := db.Query(ctx, `SELECT 'schedule '||name FROM schedules WHERE `+column+` = $1 ORDER BY lower(name)`, id)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, pgx.RowTo[string])
		})
	}
}
