package results

import (
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
			if scanSource == nil {
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
			m.Routes(h.changesRoutes()...)
			return nil
		},
	})
}

type handlers struct{ m *app.Mount }
