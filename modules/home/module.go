package home

import (
	"mipo/app"
)

// The home module assembles the home page from the scanners, scans and results modules.
func init() {
	app.Register(app.Module{
		Name:      "home",
		Databases: []string{app.DBConfig, app.DBResults},
		Requires:  []string{"rbac", "scanners", "scans", "results"},
		Provision: func(m *app.Mount) error {
			h := &handlers{m: m}
			m.Routes(h.routes()...)
			return nil
		},
	})
}

type handlers struct{ m *app.Mount }
