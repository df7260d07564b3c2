package findings

import "mipo/app"

func init() {
	app.Register(app.Module{
		Name:      "findings",
		Databases: []string{app.DBConfig, app.DBResults, app.DBJobs},
		Requires:  []string{"rbac", "audit", "config", "results", "scans", "alarms"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error { return nil }
