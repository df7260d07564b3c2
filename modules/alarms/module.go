package alarms

import (
	"context"
	"sync"
	"time"

	"mipo/app"
)

var (
	settingGiveUp = app.DurationSetting("MIPO_NOTIFY_GIVE_UP", 24*time.Hour,
		"How long mipo keeps retrying a notification before it gives up and raises an alarm about the channel.")
	settingRetryBase = app.DurationSetting("MIPO_NOTIFY_RETRY_BASE", 10*time.Second,
		"The first wait before a failed notification is retried; each further wait doubles, with jitter.")
	settingRetryMax = app.DurationSetting("MIPO_NOTIFY_RETRY_MAX", 15*time.Minute,
		"The longest wait between two attempts of one notification.")
	settingWorkers = app.IntSetting("MIPO_NOTIFY_WORKERS", 4, 1, 64,
		"Notifications each dispatcher process sends at once.")
)

// How often the periodic work runs: the checks of facts without events, escalation, and the
// relay's safety net (it also runs at once after each transition).
const (
	checkEvery    = 5 * time.Second
	escalateEvery = 30 * time.Second
	relayEvery    = 2 * time.Second
)

func init() {
	// The manager side: the API, the rules fed by the event bus, the checks, escalation.
	app.Register(app.Module{
		Name:      "alarms",
		Databases: []string{app.DBConfig, app.DBJobs, app.DBResults}, // results: its health check pings it
		Requires:  []string{"rbac"},
		Provision: provisionAlarms,
	})
	// The notifier: the outbox worker, in every dispatcher process (not only the leader:
	// claims are row locks, so several send side by side).
	app.Register(app.Module{
		Name:      "notifier",
		Databases: []string{app.DBConfig, app.DBJobs},
		Provision: provisionNotifier,
	})
}

// services holds one Service per process (per set of databases), shared by the two modules
// when one process runs both, so a transition written by one wakes the other's relay.
var (
	servicesMu sync.Mutex
	services   = map[any]*Service{} // by the config database's handle key
)

func serviceFor(m *app.Mount) *Service {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	if s, ok := services[m.ConfigDB.Key()]; ok {
		// The service is shared: it reaches every database either module declared.
		if !s.DB.Results.Declared() {
			s.DB.Results = m.ResultsDB
		}
		return s
	}
	s := newService(Databases{Config: m.ConfigDB, Jobs: m.JobsDB, Results: m.ResultsDB}, m.Clock, m.Log)
	services[m.ConfigDB.Key()] = s
	return s
}

// background runs fn from start to stop.
func background(m *app.Mount, fn func(ctx context.Context)) {
	var stop context.CancelFunc
	var done sync.WaitGroup
	m.OnStart(func(ctx context.Context) error {
		var run context.Context
		run, stop = context.WithCancel(context.WithoutCancel(ctx))
		done.Add(1)
		go func() { defer done.Done(); fn(run) }()
		return nil
	})
	m.OnStop(func(context.Context) error {
		if stop != nil {
			stop()
			done.Wait()
		}
		return nil
	})
}

func provisionAlarms(m *app.Mount) error {
	svc := serviceFor(m)
	h := &handlers{m: m, svc: svc}
	m.Routes(h.alarmRoutes()...)
	m.Routes(h.ruleRoutes()...)
	m.Routes(h.snoozeRoutes()...)
	m.Routes(h.channelRoutes()...)
	m.Routes(h.routeRoutes()...)
	m.Routes(h.deliveryRoutes()...)
	for _, typ := range eventTypes() {
		// A batch: the rules apply a claimed batch of events in one transaction.
		m.OnBatch("rules", typ, func(ctx context.Context, es []app.Event) error { return svc.Apply(ctx, es...) })
	}
	chk := newChecker(svc, m.Events)
	m.Every("checks", checkEvery, chk.Check)
	m.Every("escalate", escalateEvery, func(ctx context.Context) error { _, err := svc.Escalate(ctx); return err })
	background(m, func(ctx context.Context) { svc.RunRelay(ctx, relayEvery) })
	return nil
}

func provisionNotifier(m *app.Mount) error {
	svc := serviceFor(m)
	w := &Worker{Svc: svc, Secrets: m.Secrets, Clock: m.Clock, GiveUpAfter: settingGiveUp.Get(m.Config),
		BaseBackoff: settingRetryBase.Get(m.Config), MaxBackoff: settingRetryMax.Get(m.Config),
		Concurrency: settingWorkers.Get(m.Config), Poll: time.Second}
	// A process running both modules runs two relays; they skip each other's rows.
	background(m, func(ctx context.Context) { svc.RunRelay(ctx, relayEvery) })
	background(m, w.Run)
	return nil
}

type handlers struct {
	m   *app.Mount
	svc *Service
}
