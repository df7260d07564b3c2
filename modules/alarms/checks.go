package alarms

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"mipo/app"
	"mipo/modules/ingest/ingestapi"
	"mipo/modules/scanners/scannersapi"
)

// checker looks periodically at facts that have no event of their own and reports each fact's
// changes: the first look after start-up reports whatever it sees (so an alarm opened before a
// restart is resolved if the fault is gone), later looks only changes. A report that fails is
// tried again at the next look.
type checker struct {
	svc         *Service
	events      *app.Bus
	reported    map[string]bool // fact key → faulty, as last reported
	absentSince time.Time
}

func newChecker(svc *Service, events *app.Bus) *checker {
	return &checker{svc: svc, events: events, reported: map[string]bool{}}
}

// report sends fault or recovery for a fact if it changed. Direct facts go straight to the
// rules: they are about the databases the event bus itself needs.
func (c *checker) report(ctx context.Context, fact string, faulty bool, fault, recovery app.Event, direct bool) error {
	if prev, ok := c.reported[fact]; ok && prev == faulty {
		return nil
	}
	ev := recovery
	if faulty {
		ev = fault
	}
	var err error
	if direct {
		err = c.svc.Apply(ctx, ev)
	} else {
		err = c.events.Emit(ctx, ev.Type, ev.Subject, ev.Payload)
	}
	if err == nil {
		c.reported[fact] = faulty
	}
	return err
}

func event(typ, subject string, payload map[string]any) app.Event {
	body, _ := json.Marshal(payload)
	return app.Event{Type: typ, Subject: subject, Payload: body}
}

// Check runs every look once.
func (c *checker) Check(ctx context.Context) error {
	rules, err := c.svc.rules.get(ctx, c.svc.DB.Config)
	if err != nil {
		// The config database is down: the database look still runs, and fails to report
		// until it is back.
		rules = nil
		for _, r := range builtinRules {
			rules = append(rules, view(r))
		}
	}
	th := map[string]map[string]float64{}
	for _, r := range rules {
		th[r.ID] = r.EffectiveThresholds
	}
	var errs []string
	for _, f := range []func(context.Context, map[string]map[string]float64) error{c.databases, c.dispatcher, c.ingestNodes, c.scannerPressure} {
		if err := f(ctx, th); err != nil && ctx.Err() == nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("alarm checks: %s", strings.Join(errs, "; "))
	}
	return nil
}

// databases pings each database and looks at each pool's use.
func (c *checker) databases(ctx context.Context, th map[string]map[string]float64) error {
	var errs []string
	for _, name := range app.DatabaseNames {
		pool := c.svc.DB.Pool(name)
		if pool == nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		perr := pool.Ping(pctx)
		cancel()
		detail := map[string]any{"database": name}
		if perr != nil {
			detail["error"] = perr.Error()
		}
		if err := c.report(ctx, "db:"+name, perr != nil, event(DatabaseEvent(name, false), name, detail),
			event(DatabaseEvent(name, true), name, detail), true); err != nil {
			errs = append(errs, err.Error())
		}
		st := pool.Stat()
		max := st.MaxConns()
		if max <= 0 {
			continue
		}
		pct := float64(st.AcquiredConns()) * 100 / float64(max)
		use := map[string]any{"in_use": st.AcquiredConns(), "max": max, "percent": pct}
		limit := th["database.pool.saturated"]["percent"]
		if err := c.report(ctx, "pool:"+name, pct >= limit, event(EventPoolSaturated, name, use), event(EventPoolRelieved, name, use), true); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// dispatcher looks for the dispatcher's leadership lock. It is absent only after the grace
// time, so a hand-over between two dispatcher processes raises nothing.
func (c *checker) dispatcher(ctx context.Context, th map[string]map[string]float64) error {
	held, err := app.LeaderActive(ctx, c.svc.DB.Jobs.Pool(), "dispatcher")
	if err != nil {
		return err
	}
	now := c.svc.Clock.Now()
	if held {
		c.absentSince = time.Time{}
	} else if c.absentSince.IsZero() {
		c.absentSince = now
	}
	grace := time.Duration(th["dispatcher.none.active"]["grace_seconds"] * float64(time.Second))
	absent := !held && now.Sub(c.absentSince) >= grace
	secs := 0
	if !held {
		secs = int(now.Sub(c.absentSince) / time.Second)
	}
	if !held && !absent {
		return nil // within the grace time: report nothing yet
	}
	return c.report(ctx, "dispatcher", absent, event(EventDispatcherAbsent, "dispatcher", map[string]any{"seconds": secs}),
		event(EventDispatcherPresent, "dispatcher", nil), false)
}

// nodeHorizon is how long a silent ingest node is looked at: a process that stopped for good
// (a restart gets a new host:pid) drops out after a day, and its alarm resolves.
const nodeHorizon = 24 * time.Hour

func (c *checker) ingestNodes(ctx context.Context, th map[string]map[string]float64) error {
	nodes, err := ingestapi.Nodes(ctx, c.svc.DB.Jobs)
	if err != nil {
		return err
	}
	now := c.svc.Clock.Now()
	limit := time.Duration(th["ingest.node.silent"]["seconds"] * float64(time.Second))
	seen := map[string]bool{}
	for _, n := range nodes {
		age := now.Sub(n.UpdatedAt)
		if age > nodeHorizon {
			continue
		}
		seen["ingest:"+n.Node] = true
		detail := map[string]any{"updated_at": n.UpdatedAt.Format(time.RFC3339), "seconds": int(age / time.Second)}
		if err := c.report(ctx, "ingest:"+n.Node, age > limit, event(EventIngestSilent, n.Node, detail), event(EventIngestReporting, n.Node, detail), false); err != nil {
			return err
		}
	}
	return c.forgetUnseen(ctx, "ingest:", seen, func(node string) app.Event { return event(EventIngestReporting, node, nil) })
}

// forgetUnseen resolves facts of a kind that are no longer looked at.
func (c *checker) forgetUnseen(ctx context.Context, prefix string, seen map[string]bool, recovery func(subject string) app.Event) error {
	for fact, faulty := range c.reported {
		if !strings.HasPrefix(fact, prefix) || seen[fact] {
			continue
		}
		if faulty {
			ev := recovery(strings.TrimPrefix(fact, prefix))
			if err := c.events.Emit(ctx, ev.Type, ev.Subject, ev.Payload); err != nil {
				return err
			}
		}
		delete(c.reported, fact)
	}
	return nil
}

// scannerPressure compares each online scanner's last heartbeat with the rule's thresholds.
// fd_percent applies to a scanner whose heartbeats say its file-descriptor use.
func (c *checker) scannerPressure(ctx context.Context, th map[string]map[string]float64) error {
	list, err := scannersapi.Healthy(ctx, c.svc.DB.Config, nil)
	if err != nil {
		return err
	}
	limits := th["scanner.resource.pressure"]
	seen := map[string]bool{}
	for _, s := range list {
		if s.Metrics == nil {
			continue
		}
		seen["pressure:"+s.ID] = true
		var reasons []string
		if s.Metrics.CPUPercent >= limits["cpu_percent"] {
			reasons = append(reasons, fmt.Sprintf("CPU %.0f%%", s.Metrics.CPUPercent))
		}
		if s.Metrics.MemTotalBytes > 0 {
			if mem := float64(s.Metrics.MemUsedBytes) * 100 / float64(s.Metrics.MemTotalBytes); mem >= limits["mem_percent"] {
				reasons = append(reasons, fmt.Sprintf("memory %.0f%%", mem))
			}
		}
		if m := s.Metrics; m.FDOpen != nil && m.FDLimit != nil && *m.FDLimit > 0 {
			if fd := float64(*m.FDOpen) * 100 / float64(*m.FDLimit); fd >= limits["fd_percent"] {
				reasons = append(reasons, fmt.Sprintf("file descriptors %.0f%%", fd))
			}
		}
		detail := map[string]any{"scanner_id": s.ID, "name": s.Name, "reason": strings.Join(reasons, ", "),
			"cpu_percent": s.Metrics.CPUPercent, "mem_used_bytes": s.Metrics.MemUsedBytes, "mem_total_bytes": s.Metrics.MemTotalBytes,
			"fd_open": s.Metrics.FDOpen, "fd_limit": s.Metrics.FDLimit}
		if err := c.report(ctx, "pressure:"+s.ID, len(reasons) > 0, event(EventScannerPressure, s.ID, detail),
			event(EventScannerRelieved, s.ID, detail), false); err != nil {
			return err
		}
	}
	// A scanner that went offline is resolved by scanner.offline itself; just forget it.
	for fact := range c.reported {
		if strings.HasPrefix(fact, "pressure:") && !seen[fact] {
			delete(c.reported, fact)
		}
	}
	return nil
}
