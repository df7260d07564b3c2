package scans

import (
	"math/rand/v2"

	"mipo/app"
)

func init() {
	// The manager side: the API and pages.
	app.Register(app.Module{
		Name:     "scans",
		Roles:    []string{app.RoleManager},
		Requires: []string{"rbac"},
		Provision: func(m *app.Mount) error {
			h := &handlers{m: m, maxProbes: int64(settingMaxProbes.Get(m.Config)), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
			m.Routes(h.routes()...)
			return nil
		},
	})
	// The dispatcher: one leader among every dispatcher process, the rest hot standbys.
	app.Register(app.Module{
		Name:  "dispatcher",
		Roles: []string{app.RoleDispatcher},
		Provision: func(m *app.Mount) error {
			d := newDispatcher(deps{DB: m.DB, Clock: m.Clock, Events: m.Events, Log: m.Log}, m.Config)
			m.Lead("dispatcher", d.run)
			return nil
		},
	})
}
