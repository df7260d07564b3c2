package scans

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/jobs/jobsapi"
	"mipo/modules/scanners/scannersapi"
)

var (
	settingTick         = app.DurationSetting("MIPO_DISPATCH_INTERVAL", 2*time.Second, "How often the dispatcher looks for launched scans, stalled jobs and due schedules.")
	settingStallAfter   = app.DurationSetting("MIPO_JOB_STALL_AFTER", 90*time.Second, "A job with no progress report for this long is stalled and re-queued (scanners report every 10 s).")
	settingQueueTimeout = app.DurationSetting("MIPO_JOB_QUEUE_TIMEOUT", time.Hour, "A job no scanner takes within this long fails, and so does a scan that finds no scanner.")
)

// dispatcher is the leader's work: every tick it launches due schedules, expands launched
// scans into jobs, re-queues stalled jobs and completes finished scans. Every step is
// idempotent, so a standby taking over mid-tick just does the rest.
type dispatcher struct {
	deps
	tick, stall, queueLimit time.Duration
	batchTarget             time.Duration
	maxProbes               int64
	rnd                     *rand.Rand
}

// deps is what the dispatcher needs from its process: a running App has the same fields, so a
// test can build a dispatcher on it and drive its ticks by hand with an injected clock.
type deps struct {
	ConfigDB app.ConfigDB
	JobsDB   app.JobsDB
	Clock    app.Clock
	Events   *app.Bus
	Log      *slog.Logger
}

func newDispatcher(d deps, cfg *app.Config) *dispatcher {
	return &dispatcher{deps: d, tick: settingTick.Get(cfg), stall: settingStallAfter.Get(cfg),
		queueLimit: settingQueueTimeout.Get(cfg), batchTarget: settingBatchTarget.Get(cfg),
		maxProbes: int64(settingMaxProbes.Get(cfg)), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// run is the leader's loop, driven by gocron while this process leads.
func (d *dispatcher) run(ctx context.Context) {
	s, err := gocron.NewScheduler(gocron.WithLocation(time.UTC))
	if err != nil {
		d.Log.Error("dispatcher scheduler", "err", err)
		return
	}
	_, err = s.NewJob(gocron.DurationJob(d.tick), gocron.NewTask(func() { d.Tick(ctx) }),
		gocron.WithName("dispatcher.tick"), gocron.WithSingletonMode(gocron.LimitModeReschedule))
	if err != nil {
		d.Log.Error("dispatcher job", "err", err)
		return
	}
	s.Start()
	<-ctx.Done()
	s.Shutdown()
}

// Tick does one round of the dispatcher's work.
func (d *dispatcher) Tick(ctx context.Context) {
	ctx = app.WithPrincipal(ctx, app.System("dispatcher"))
	for _, step := range []struct {
		name string
		fn   func(context.Context) error
	}{{"schedules", d.launchDue}, {"dispatch", d.dispatchPending}, {"stalls", d.reconcileStalls}, {"completion", d.completeScans}} {
		if err := step.fn(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("dispatcher step failed", "step", step.name, "err", err)
		}
	}
}

// dispatchPending expands each launched scan into jobs.
func (d *dispatcher) dispatchPending(ctx context.Context) error {
	open, err := openScans(ctx, d.ConfigDB)
	if err != nil {
		return err
	}
	for _, s := range open {
		if s.Status == Pending {
			if err := d.dispatch(ctx, s); err != nil {
				return fmt.Errorf("scan %s: %w", s.ID, err)
			}
		}
	}
	return nil
}

func (d *dispatcher) dispatch(ctx context.Context, s *Scan) error {
	now := d.Clock.Now()
	existing, err := jobsapi.ListByScan(ctx, d.JobsDB, s.ID)
	if err != nil {
		return err
	}
	if len(existing) > 0 { // created before a crash or a takeover: only the bookkeeping is left
		return d.markRunning(ctx, s, scannersOf(existing), len(existing), now)
	}
	full, err := Get(ctx, d.ConfigDB, s.ID)
	if err != nil {
		return err
	}
	caps, why, err := d.scannersFor(ctx, full)
	if err != nil {
		return err
	}
	if len(caps) == 0 {
		if now.Sub(s.CreatedAt) > d.queueLimit {
			return d.finish(ctx, s, Failed, why+"; gave up after "+d.queueLimit.String(), 0, 0)
		}
		return d.setDetail(ctx, s, "waiting: "+why)
	}
	sc := full.Scope
	work := Work{ScanID: s.ID, Targets: sc.Targets, Ports: sc.Ports, Mode: s.Mode, RateLimit: sc.RateLimit,
		TimeoutMS: sc.TimeoutMS, Retries: sc.Retries, MaxDurationSeconds: sc.MaxDurationSeconds}
	planned, err := Expand(work, caps, d.batchTarget)
	if err != nil {
		return err
	}
	if _, err := jobsapi.Create(ctx, d.JobsDB, now, planned...); err != nil {
		return err
	}
	ids := make([]string, len(caps))
	for i, c := range caps {
		ids[i] = c.ScannerID
	}
	return d.markRunning(ctx, s, ids, len(planned), now)
}

// scannersFor picks who runs a scan: the healthy scanners of its pool, or every enabled member
// of its scanner groups (offline ones too: a vantage job waits for its scanner).
func (d *dispatcher) scannersFor(ctx context.Context, s *Scan) ([]ScannerCapacity, string, error) {
	var out []ScannerCapacity
	if s.Mode != jobsapi.KindVantage {
		healthy, err := scannersapi.Healthy(ctx, d.ConfigDB, s.Scope.ScannerIDs)
		if err != nil {
			return nil, "", err
		}
		for _, h := range healthy {
			out = append(out, ScannerCapacity{ScannerID: h.ID, MaxRate: h.Capacity.MaxRate, MaxConcurrency: h.Capacity.MaxConcurrency})
		}
		return out, "no scanner of its pool is online and enabled", nil
	}
	seen := map[string]bool{}
	for _, g := range s.Scope.ScannerGroupIDs {
		members, err := scannersapi.GroupMembers(ctx, d.ConfigDB, g)
		if err != nil {
			continue // a deleted group contributes nobody
		}
		for _, id := range members {
			sc, err := scannersapi.Get(ctx, d.ConfigDB, id)
			if err != nil || sc.Disabled || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, ScannerCapacity{ScannerID: id, MaxRate: sc.Capacity.MaxRate, MaxConcurrency: sc.Capacity.MaxConcurrency})
		}
	}
	return out, "its scanner groups hold no enabled scanner", nil
}

func scannersOf(js []*jobsapi.Job) []string {
	seen := map[string]bool{}
	var out []string
	for _, j := range js {
		for _, id := range append([]string{j.ScannerID}, j.Pool...) {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func (d *dispatcher) markRunning(ctx context.Context, s *Scan, scannerIDs []string, n int, now time.Time) error {
	return app.InTx(ctx, d.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		tag, err := ch.Tx.Exec(ctx, `UPDATE scans SET status = 'running', status_detail = '', scanner_ids = $2, jobs_total = $3, started_at = $4
			WHERE id = $1 AND status = 'pending'`, s.ID, scannerIDs, n, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "scan.start", ResourceType: "scan", ResourceID: s.ID, ResourceName: s.Name(),
			Detail: map[string]any{"jobs": n, "scanners": scannerIDs}})
	})
}

func (d *dispatcher) setDetail(ctx context.Context, s *Scan, detail string) error {
	if s.StatusDetail == detail {
		return nil
	}
	_, err := d.ConfigDB.Exec(ctx, `UPDATE scans SET status_detail = $2 WHERE id = $1`, s.ID, detail)
	return err
}

// reconcileStalls re-queues jobs whose progress went silent, fails queued jobs nobody took,
// stops the jobs of cancelled scans, and announces stalled jobs that recovered.
func (d *dispatcher) reconcileStalls(ctx context.Context) error {
	now := d.Clock.Now()
	stalled, err := jobsapi.Stalled(ctx, d.JobsDB, now, func(*jobsapi.Job) time.Duration { return d.stall })
	if err != nil {
		return err
	}
	for _, j := range stalled {
		status, err := jobsapi.Requeue(ctx, d.JobsDB, j, fmt.Sprintf("no progress for %s", d.stall), now)
		if err != nil {
			return err
		}
		if status == j.Status { // it reported in the meantime
			continue
		}
		// A job whose scan the config database does not hold (a config database restored from
		// before the scan) has nowhere to record its stall; failing on it would stop this step
		// for every job after it, every tick.
		if _, err := d.ConfigDB.Exec(ctx, `INSERT INTO scan_stalls (job_id, scan_id, scanner_id, attempt, stalled_at)
			SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM scans WHERE id = $2) ON CONFLICT DO NOTHING`,
			j.ID, j.ScanID, j.ScannerID, j.Attempts, now); err != nil {
			return err
		}
		d.Log.Warn("job stalled", "job", j.ID, "scan", j.ScanID, "scanner", j.ScannerID, "now", status)
		d.emit(ctx, "job.stalled", j.ID, map[string]any{"scan_id": j.ScanID, "scanner_id": j.ScannerID, "attempt": j.Attempts, "now": status})
	}
	if err := d.failUnclaimed(ctx, now); err != nil {
		return err
	}
	if err := d.stopCancelled(ctx, now); err != nil {
		return err
	}
	return d.announceRecoveries(ctx, now)
}

// failUnclaimed fails queued jobs of running scans that no scanner took within the limit.
func (d *dispatcher) failUnclaimed(ctx context.Context, now time.Time) error {
	_, err := jobsapi.FailUnclaimed(ctx, d.JobsDB, now.Add(-d.queueLimit), "no scanner took the job within "+d.queueLimit.String(), now)
	return err
}

// stopCancelled makes sure the jobs of recently cancelled scans are stopped (the cancel
// request marks the scan; this reaches the jobs database even if that step was interrupted).
func (d *dispatcher) stopCancelled(ctx context.Context, now time.Time) error {
	rows, err := d.ConfigDB.Query(ctx, `SELECT id FROM scans WHERE status = 'cancelled' AND finished_at > $1`, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := jobsapi.CancelScan(ctx, d.JobsDB, id, now); err != nil {
			return err
		}
	}
	return nil
}

// announceRecoveries emits job.recovered for each stalled job that has since completed.
func (d *dispatcher) announceRecoveries(ctx context.Context, now time.Time) error {
	rows, err := d.ConfigDB.Query(ctx, `SELECT DISTINCT job_id::text, scan_id::text FROM scan_stalls WHERE recovered_at IS NULL`)
	if err != nil {
		return err
	}
	type stall struct{ job, scan string }
	pending, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stall, error) {
		var s stall
		return s, r.Scan(&s.job, &s.scan)
	})
	if err != nil {
		return err
	}
	for _, s := range pending {
		j, err := jobsapi.Get(ctx, d.JobsDB, s.job)
		if err != nil || !j.Finished() {
			continue
		}
		if _, err := d.ConfigDB.Exec(ctx, `UPDATE scan_stalls SET recovered_at = $2 WHERE job_id = $1 AND recovered_at IS NULL`, s.job, now); err != nil {
			return err
		}
		if j.Status == jobsapi.Done {
			d.emit(ctx, "job.recovered", j.ID, map[string]any{"scan_id": j.ScanID, "scanner_id": j.ScannerID, "attempts": j.Attempts})
		}
	}
	return nil
}

// completeScans ends running scans whose jobs have all ended.
func (d *dispatcher) completeScans(ctx context.Context) error {
	open, err := openScans(ctx, d.ConfigDB)
	if err != nil {
		return err
	}
	for _, s := range open {
		if s.Status != Running {
			continue
		}
		st, err := jobsapi.StateOf(ctx, d.JobsDB, s.ID)
		if err != nil {
			return err
		}
		if !st.Finished() {
			continue
		}
		status, detail := Completed, ""
		switch {
		case st.Done == 0:
			status, detail = Failed, fmt.Sprintf("all %d jobs failed", st.Jobs)
		case st.Failed > 0:
			detail = fmt.Sprintf("%d of %d jobs failed; their partial results are kept and marked", st.Failed, st.Jobs)
		}
		pct := 0.0
		if st.PortsTotal > 0 {
			pct = min(100, 100*float64(st.PortsProbed)/float64(st.PortsTotal))
		}
		if st.Failed == 0 && st.Cancelled == 0 {
			pct = 100
		}
		if err := d.finish(ctx, s, status, detail, st.Failed, pct); err != nil {
			return err
		}
	}
	return nil
}

// finish closes a scan, audits it and announces it.
func (d *dispatcher) finish(ctx context.Context, s *Scan, status, detail string, failedJobs int, completion float64) error {
	now := d.Clock.Now()
	return app.InTx(ctx, d.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		tag, err := ch.Tx.Exec(ctx, `UPDATE scans SET status = $2, status_detail = $3, jobs_failed = $4, completion = $5, finished_at = $6
			WHERE id = $1 AND status IN ('pending', 'running')`, s.ID, status, detail, failedJobs, completion, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err // failed, or closed meanwhile (cancelled, say): nothing to announce
		}
		ch.AfterCommit(func(ctx context.Context) {
			d.emit(ctx, "scan."+status, s.ID, map[string]any{"template": s.TemplateName, "detail": detail})
		})
		return auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "scan." + status, ResourceType: "scan", ResourceID: s.ID, ResourceName: s.Name(),
			Detail: map[string]any{"template": s.TemplateName, "detail": detail, "failed_jobs": failedJobs, "completion": completion}})
	})
}

func (d *dispatcher) emit(ctx context.Context, typ, subject string, payload any) {
	if err := d.Events.Emit(ctx, typ, subject, payload); err != nil {
		d.Log.Error("emitting an event", "type", typ, "err", err)
	}
}
