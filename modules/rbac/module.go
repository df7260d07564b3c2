package rbac

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mipo/app"
)

func init() {
	app.Register(app.Module{
		Name:      "rbac",
		Databases: []string{app.DBConfig},
		Provision: provision,
	})
	app.RegisterCommand(setupCommand)
}

func provision(m *app.Mount) error {
	s := &sessions{key: m.Config.SessionKey, idle: settingSessionIdle.Get(m.Config), max: settingSessionMax.Get(m.Config),
		limit: settingSessionCap.Get(m.Config), clock: m.Clock, secure: m.Config.TLS}
	pool := func() app.ConfigDB { return m.ConfigDB }
	h := &handlers{m: m, clock: m.Clock, sessions: s, gate: &setupGate{pool: pool}}
	g := &guard{pool: pool, sessions: s, clock: m.Clock}

	m.ProvideGuard(app.GuardUser, g.middleware)
	m.Use("/api/", sameOrigin)
	m.Use("/api/v1/", h.gate.middleware)
	m.Routes(h.routes()...)
	m.Every("expire-sessions", time.Minute, func(ctx context.Context) error {
		_, err := s.expireSessions(ctx, m.ConfigDB)
		return err
	})
	m.OnStart(func(ctx context.Context) error {
		if err := checkRouteScopes(m.AllRoutes()); err != nil {
			return err
		}
		ctx = app.WithPrincipal(ctx, app.System("rbac:builtin-roles"))
		return app.InTx(ctx, m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
			return syncBuiltinRoles(ctx, ch.Tx, m.Clock.Now())
		})
	})
	return nil
}

// checkRouteScopes refuses to start when a route names a scope the catalogue does not know: a
// typo there would make a route that nobody but the owner can call.
func checkRouteScopes(routes []app.Route) error {
	var bad []string
	for _, r := range routes {
		if r.Guard() == app.GuardUser && r.Scope != app.SignedIn && !KnownScope(r.Scope) {
			bad = append(bad, fmt.Sprintf("%s %s (%s)", r.Method, r.Path, r.Scope))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("routes name scopes missing from the catalogue in modules/rbac/scopes.go: %s", strings.Join(bad, "; "))
	}
	return nil
}
