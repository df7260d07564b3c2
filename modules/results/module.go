package results

import (
	"context"
	"time"

	"mipo/app"
)

// The results module serves what the results database knows: history and its export, diffs
// between scans or points in time, an address's timeline and vantage comparisons. Which scans
// to compare it asks the scans module, through the ScanSource that module provides; the
// observations are its own.
func init() {
	app.Register(app.Module{
		Name:      "results",
		Databases: []string{app.DBConfig, app.DBResults},
		Requires:  []string{"rbac"},
		Provision: func(m *app.Mount) error {
			// Weekly partitions ahead, and retention (sql/results/00100). The module runs in
			// the manager, one instance; the work is idempotent if two ever overlap.
			retention := time.Duration(settingRetention.Get(m.Config)) * 24 * time.Hour
			maintain := func(ctx context.Context) error { return maintainPartitions(ctx, m, retention) }
			m.OnStart(maintain)
			m.Every("partitions", partitionsEvery, maintain)
			if scanSource() == nil {
				// A binary without the scans module (a test of ingest, which writes results
				// through this package): nothing here can be answered, so nothing is served.
				m.Log.Warn("results: the scans module is not linked in; the results routes are not served")
				return nil
			}
			h := &handlers{m: m}
			m.Routes(h.historyRoutes()...)
			m.Routes(h.diffRoutes()...)
			m.Routes(h.timelineRoutes()...)
			m.Routes(h.vantageRoutes()...)
			m.Routes(h.openRoutes()...)
			m.Routes(h.hostRoutes()...)
			m.On("outcome", "scan.completed", h.recordOutcome)
			m.Routes(h.changesRoutes()...)
			return nil
		},
	})
}

type handlers struct{ m *app.Mount }
