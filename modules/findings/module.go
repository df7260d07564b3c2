package findings

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/config/configapi"
)

// expireEvery is how often accepted findings are checked for an acceptance that ran out.
const expireEvery = 30 * time.Second

func init() {
	app.Register(app.Module{
		Name:      "findings",
		Databases: []string{app.DBConfig, app.DBResults},
		Requires:  []string{"rbac", "audit", "config", "results", "scans"},
		Provision: provision,
	})
	for _, kind := range []string{configapi.KindSubnet, configapi.KindSubnetGroup, configapi.KindPortList, configapi.KindPortListGroup} {
		configapi.RegisterUsers(kind, baselinesUsing)
	}
	app.RegisterCommand(evidenceCommand)
}

type handlers struct {
	m   *app.Mount
	svc *Service
}

func provision(m *app.Mount) error {
	svc := &Service{Config: m.ConfigDB, Results: m.ResultsDB, Events: m.Events, Clock: m.Clock, Log: m.Log}
	h := &handlers{m: m, svc: svc}
	m.Routes(h.baselineRoutes()...)
	m.Routes(h.findingRoutes()...)
	m.Routes(h.evidenceRoutes()...)
	// A completed scan is judged once its results are in; the bus retries a failure, and
	// judging the same scan twice changes nothing the second time.
	m.On("judge", "scan.completed", func(ctx context.Context, e app.Event) error {
		_, err := svc.EvaluateScan(ctx, e.Subject)
		return err
	})
	// The evidence key exists before anyone asks for it, so reading it never writes.
	m.OnStart(func(ctx context.Context) error {
		_, _, err := signingKey(ctx, m.ConfigDB, m.Secrets, m.Clock.Now())
		return err
	})
	m.Every("expire", expireEvery, func(ctx context.Context) error { _, err := svc.ExpireAcceptances(ctx); return err })
	return nil
}
