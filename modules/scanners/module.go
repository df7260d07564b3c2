package scanners

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/scanners/scannersapi"
)

var settingHistoryRetention = app.DurationSetting("MIPO_SCANNER_HISTORY_RETENTION", 30*24*time.Hour,
	"How long scanner heartbeat history (CPU, memory, network I/O over time) is kept; older rows are deleted hourly.")

// settingOfflineAfter is the silence that marks a scanner offline: two missed heartbeats by
// default. Tests of live pages shorten it, to see a scanner go offline without waiting minutes.
var settingOfflineAfter = app.DurationSetting("MIPO_SCANNER_OFFLINE_AFTER", OfflineAfter,
	"A scanner not heard from for this long is marked offline (scanners send a heartbeat every 60 s, or every half window when that is shorter).")

// offlineCheckEvery is how often the manager looks for silent scanners: a scanner is marked
// offline between the window and 15 seconds after it (a quarter of a shorter window).
const offlineCheckEvery = 15 * time.Second

// HeartbeatSeconds is the heartbeat interval ingest tells scanners: once a minute, or half the
// offline window when that is shorter (tests shorten it), so a scanner that runs is never marked
// offline between two of its heartbeats.
func HeartbeatSeconds(c *app.Config) int {
	return heartbeatSecondsFor(settingOfflineAfter.Get(c))
}

func heartbeatSecondsFor(offlineAfter time.Duration) int {
	return int(min(max(offlineAfter/2, time.Second), time.Minute) / time.Second)
}

func init() {
	app.Register(app.Module{
		Name:      "scanners",
		Databases: []string{app.DBConfig, app.DBJobs},
		Requires:  []string{"rbac"},
		Provision: provision,
	})
}

func provision(m *app.Mount) error {
	asn, err := scannersapi.ASNDatabaseFromConfig(m.Config)
	if err != nil {
		return err
	}
	h := &handlers{m: m, asn: asn}
	m.Routes(h.routes()...)
	after := settingOfflineAfter.Get(m.Config)
	m.Every("offline-check", min(offlineCheckEvery, max(after/4, time.Second)), func(ctx context.Context) error {
		ids, err := CheckOfflineAfter(ctx, m.ConfigDB, m.Events, m.Clock.Now(), after)
		if len(ids) > 0 {
			m.Log.Warn("scanners went offline: no heartbeat within the offline window", "scanners", ids, "window", after)
		}
		return err
	})
	retention := settingHistoryRetention.Get(m.Config)
	m.Every("prune-history", time.Hour, func(ctx context.Context) error {
		now := m.Clock.Now()
		if _, err := PruneHistory(ctx, m.ConfigDB, now.Add(-retention)); err != nil {
			return err
		}
		_, err := PruneSummaries(ctx, m.ConfigDB, now)
		return err
	})
	return nil
}
