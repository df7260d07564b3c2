package scanners

import (
	"context"
	"time"

	"mipo/app"
)

var settingHistoryRetention = app.DurationSetting("MIPO_SCANNER_HISTORY_RETENTION", 30*24*time.Hour,
	"How long scanner heartbeat history (CPU, memory, network I/O over time) is kept; older rows are deleted hourly.")

// offlineCheckEvery is how often the manager looks for silent scanners: a scanner is marked
// offline between 2 minutes and 2 minutes 15 seconds after its last heartbeat.
const offlineCheckEvery = 15 * time.Second

func init() {
	app.Register(app.Module{
		Name:      "scanners",
		Databases: []string{app.DBConfig, app.DBJobs},
		Requires:  []string{"rbac"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	asn, err := ASNDatabaseFromConfig(m.Config)
	if err != nil {
		return err
	}
	h := &handlers{m: m, asn: asn}
	m.Routes(h.routes()...)
	m.Every("offline-check", offlineCheckEvery, func(ctx context.Context) error {
		ids, err := CheckOffline(ctx, m.ConfigDB, m.Events, m.Clock.Now())
		if len(ids) > 0 {
			m.Log.Warn("scanners went offline: no heartbeat for 2 minutes", "scanners", ids)
		}
		return err
	})
	retention := settingHistoryRetention.Get(m.Config)
	m.Every("prune-history", time.Hour, func(ctx context.Context) error {
		_, err := PruneHistory(ctx, m.ConfigDB, m.Clock.Now().Add(-retention))
		return err
	})
	return nil
}
