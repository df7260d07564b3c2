package config

import (
	"context"

	"mipo/app"
	"mipo/modules/config/catalog"
)

func init() {
	app.Register(app.Module{
		Name:      "config",
		Databases: []string{app.DBConfig},
		Requires:  []string{"rbac"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	e := &env{pool: func() app.ConfigDB { return m.ConfigDB }, clock: m.Clock}
	portLists := newPortLists(e)
	m.Routes(checkCIDRRoute(), checkPortsRoute(), catalogRoute(), scopeRoute(e), checkTemplateRoute(e))
	m.Routes(newSubnets(e).routes()...)
	m.Routes(newSubnetGroups(e).routes()...)
	m.Routes(newExclusions(e).routes()...)
	m.Routes(portLists.routes()...)
	m.Routes(newPortListGroups(e).routes()...)
	m.Routes(newTemplates(e).routes()...)
	m.Routes(newTemplateGroups(e).routes()...)
	m.OnStart(func(ctx context.Context) error {
		ctx = app.WithPrincipal(ctx, app.System("config:starter-port-lists"))
		return app.InTx(ctx, m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
			return syncStarterLists(ctx, ch.Tx, portLists, catalog.Lists())
		})
	})
	return nil
}
