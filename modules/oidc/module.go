package oidc

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/rbac/rbacapi"
)

func init() {
	app.Register(app.Module{
		Name:      "oidc",
		Databases: []string{app.DBConfig},
		Requires:  []string{"rbac", "settings"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	h := &handlers{m: m, signIns: rbacapi.NewSignIns(m)}
	m.Routes(h.providerRoutes()...)
	m.Routes(h.loginRoutes()...)
	// Sign-ins abandoned at the provider leave a row behind; a state is good for loginTTL.
	m.Every("forget-abandoned-logins", time.Minute, func(ctx context.Context) error {
		_, err := m.ConfigDB.Exec(ctx, `DELETE FROM oidc_logins WHERE created_at < $1`, m.Clock.Now().Add(-loginTTL))
		return err
	})
	return nil
}
