package health

import (
	"context"
	"net/http"
	"time"

	"mipo/app"
)

// compactEvery is how often history is downsampled and pruned.
const compactEvery = 10 * time.Minute

func init() {
	// Every role process reports itself.
	app.Register(app.Module{
		Name:      "health-report",
		Databases: []string{app.DBConfig, app.DBResults, app.DBJobs}, // all three: it reports each pool
		Provision: provisionReport,
	})
	// The manager probes, downsamples, and serves the pages and dashboards.
	app.Register(app.Module{
		Name:      "health",
		Databases: []string{app.DBConfig, app.DBResults, app.DBJobs},
		Requires:  []string{"rbac", "health-report"},
		Provision: provision,
	})
}

func provisionReport(m *app.Mount) error {
	r := &reporter{m: m}
	m.OnStart(func(context.Context) error { r.started = m.Clock.Now(); return nil })
	m.Every("report", reportEvery, r.report)
	return nil
}

type handlers struct {
	m      *app.Mount
	probes *prober
}

func provision(m *app.Mount) error {
	h := &handlers{m: m, probes: newProber(m)}
	m.Every("probe", probeEvery, h.probes.Run)
	m.On("backup-adherence", "backup.*", func(ctx context.Context, e app.Event) error { return recordBackup(ctx, m.JobsDB, e) })
	m.Metrics().MustRegister(collector{h})
	m.Every("compact", compactEvery, func(ctx context.Context) error { return Compact(ctx, m.JobsDB, m.Clock.Now()) })
	m.Routes(
		app.Route{Method: http.MethodGet, Path: "/api/v1/health/overview", Scope: "health:view", Handler: h.getOverview, Response: Overview{},
			Summary: "The architecture overview: each component's status and last check, and the arrows between them"},
		app.Route{Method: http.MethodGet, Path: "/api/v1/health/components/:id", Scope: "health:view", Handler: h.getComponent,
			Query: ComponentQuery{}, Response: Component{}, Summary: "One component: its status and the history of its figures"},
	)
	m.Routes(h.dashboardRoutes()...)
	return nil
}
