package tls

import (
	"time"

	"mipo/app"
)

func init() {
	app.Register(app.Module{
		Name:      "tls",
		Roles:     []string{app.RoleManager},
		Requires:  []string{"rbac", "settings"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	s := newService(m)
	m.Routes(handlers{s}.routes()...)
	m.OnStart(s.Start)
	// Every process serving TLS follows a change made in another, and the self-signed
	// certificate follows an FQDN change, within seconds.
	m.Every("reload", 10*time.Second, s.Reload)
	m.Every("follow-fqdn", 10*time.Second, s.FollowFQDN)
	m.Every("expiry", time.Hour, s.CheckExpiry)
	return nil
}
