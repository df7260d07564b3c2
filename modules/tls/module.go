package tls

import (
	"context"
	"slices"
	"sync"
	"time"

	"mipo/app"
)

// settingExpiryCheckEvery is how often the served certificate's expiry is checked. An hour is
// plenty against a 14-day warning; tests that move the clock shorten it.
var settingExpiryCheckEvery = app.DurationSetting("MIPO_TLS_EXPIRY_CHECK_EVERY", time.Hour,
	"How often the served certificate's expiry is checked (tls.certificate.expiring 14 days before, tls.certificate.expired at the end).")

func init() {
	app.Register(app.Module{
		Name:      "tls",
		Databases: []string{app.DBConfig},
		Requires:  []string{"rbac", "settings"},
		Provision: provision,
	})
	// An ingest node run on its own serves the stored certificate too, following every change;
	// storing and issuing stay with the manager.
	app.Register(app.Module{
		Name:      "tls-serve",
		Databases: []string{app.DBConfig},
		Provision: provisionServe,
	})
}

func provisionServe(m *app.Mount) error {
	if slices.Contains(m.Config.Roles, app.RoleManager) {
		return nil // the tls module serves this process
	}
	s := newService(m)
	running.Store(m.Config, s)
	// A certificate it cannot open (another MIPO_SECRET_KEY) must not stop scanner traffic:
	// the node keeps its data directory's certificate and says why.
	m.OnStart(func(ctx context.Context) error {
		if err := s.Reload(ctx); err != nil {
			m.Log.Error("tls: serving the stored certificate; keeping the data directory's", "err", err)
		}
		return nil
	})
	m.Every("reload", 10*time.Second, s.Reload)
	return nil
}

// running maps each process's configuration to its tls service, for tests that drive the
// running module (an ACME attempt whose HTTP-01 token that module's route must answer).
var running sync.Map

func provision(m *app.Mount) error {
	s := newService(m)
	running.Store(m.Config, s)
	m.Routes(handlers{s}.routes()...)
	m.OnStart(s.Start)
	// Every process serving TLS follows a change made in another, and the self-signed
	// certificate follows an FQDN change, within seconds.
	m.Every("reload", 10*time.Second, s.Reload)
	m.Every("follow-fqdn", 10*time.Second, s.FollowFQDN)
	m.Every("expiry", settingExpiryCheckEvery.Get(m.Config), s.CheckExpiry)
	// Checks are cheap: a due renewal starts within a minute, and back-off spaces retries.
	m.Every("acme-renew", time.Minute, s.acme.RenewIfDue)
	return nil
}
