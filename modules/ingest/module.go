package ingest

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/scanners/scannersapi"
)

func init() {
	app.Register(app.Module{
		Name:      "ingest",
		Databases: []string{app.DBConfig, app.DBResults, app.DBJobs},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	asn, err := scannersapi.ASNDatabaseFromConfig(m.Config)
	if err != nil {
		return err
	}
	refused := newRefusalLog(m)
	mt := newMeter(m.Process())
	h := &handlers{m: m, asn: asn, refused: refused, meter: mt, leasePoll: time.Second,
		heartbeatSeconds: scannersapi.HeartbeatSeconds(m.Config)}
	m.ProvideGuard(app.GuardScanner, (&guard{m: m, asn: asn, refused: refused}).middleware)
	m.Use("/scanner/", mt.count)
	m.Routes(h.routes()...)
	m.Routes(h.installRoutes()...)
	m.Every("throughput", meterEvery, func(ctx context.Context) error { return mt.flush(ctx, m.JobsDB, false) })
	m.OnStop(func(ctx context.Context) error { return mt.flush(ctx, m.JobsDB, true) })
	return nil
}
