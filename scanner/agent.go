package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Agent is `mipo-scanner run`: it heartbeats, leases jobs (up to
// capacity.MaxJobs at once, all sharing one engine and so its limits),
// scans, and hands results and completions to the spool, which sends them.
type Agent struct {
	client   *Client
	spool    *Spool
	capacity Capacity
	engine   Engine
	hostname string
	log      *slog.Logger

	// Timings, shortened by tests.
	leaseWait     time.Duration // long-poll wait asked of ingest
	progressEvery time.Duration // progress at least this often
	batchMax      int           // results per batch at most
	batchEvery    time.Duration // a partial batch is spooled after this long
	flushTimeout  time.Duration // how long stopping waits for the spool to drain
	heartbeat     atomic.Int64  // interval in ns, as ingest last said

	mu     sync.Mutex
	active map[string]context.CancelCauseFunc
}

var (
	errGone        = errors.New("ingest no longer knows the job (410 job_gone)")
	errCancelled   = errors.New("cancelled by ingest")
	errMaxDuration = errors.New("max_duration_seconds exceeded")
)

func NewAgent(c *Client, sp *Spool, capa Capacity, heartbeat time.Duration, log *slog.Logger) *Agent {
	host, _ := os.Hostname()
	if capa.MaxJobs <= 0 {
		capa.MaxJobs = defaultMaxJobs
	}
	a := &Agent{
		client: c, spool: sp, capacity: capa, hostname: host, log: log,
		leaseWait: 25 * time.Second, progressEvery: 10 * time.Second,
		batchMax: 5000, batchEvery: 2 * time.Second, flushTimeout: 5 * time.Second,
		active: map[string]context.CancelCauseFunc{},
		engine: NewEngine(Limits{Rate: float64(capa.MaxRate), Concurrency: capa.MaxConcurrency}),
	}
	a.heartbeat.Store(int64(heartbeat))
	if c.log == nil {
		c.log = log
	}
	sp.onGone = func(id string) { a.stopJob(id, errGone) }
	return a
}

// Run works until ctx ends (SIGTERM or SIGINT): then it stops leasing,
// stops the running job without completing it (it stays leased, and ingest
// hands it out again once it stalls), gives the spool flushTimeout to drain,
// and returns. What was not sent stays in the spool for the next start.
func (a *Agent) Run(ctx context.Context) {
	sendCtx, stopSend := context.WithCancel(context.Background())
	flush := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.spool.Send(sendCtx, a.client, flush) }()
	go func() { defer wg.Done(); a.heartbeats(ctx) }()

	if n := a.spool.Pending(); n > 0 {
		a.log.Info("sending what the spool holds before leasing", "messages", n)
		for a.spool.Pending() > 0 && sleepCtx(ctx, 100*time.Millisecond) == nil {
		}
	}
	a.leaseLoop(ctx)
	a.engine.Close()

	flush <- struct{}{}
	deadline := time.Now().Add(a.flushTimeout)
	for a.spool.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stopSend()
	wg.Wait()
	if n := a.spool.Pending(); n > 0 {
		a.log.Warn("stopping with messages in the spool; they are sent on the next start", "messages", n)
	}
}

func (a *Agent) heartbeats(ctx context.Context) {
	mr := &metricsReader{proc: "/proc"}
	for {
		m, err := mr.Read()
		if err != nil {
			a.log.Warn("heartbeat metrics incomplete", "err", err)
		}
		resp, err := a.client.Heartbeat(ctx, heartbeatRequest{
			Version: version, Hostname: a.hostname, Capacity: a.capacity, Metrics: m, ActiveJobs: a.activeJobs(),
		})
		switch {
		case err == nil && resp.HeartbeatSeconds > 0:
			a.heartbeat.Store(int64(time.Duration(resp.HeartbeatSeconds) * time.Second))
		case err != nil && ctx.Err() == nil:
			a.log.Warn("heartbeat failed", "err", err)
		}
		if sleepCtx(ctx, time.Duration(a.heartbeat.Load())) != nil {
			return
		}
	}
}

// leaseLoop leases while fewer than MaxJobs jobs run, and returns once ctx
// ended and every running job finished.
func (a *Agent) leaseLoop(ctx context.Context) {
	b := backoff{min: backoffMin, max: backoffMax, rand: rand.Float64}
	slots := make(chan struct{}, a.capacity.MaxJobs)
	var running sync.WaitGroup
	defer running.Wait()
	for ctx.Err() == nil {
		if r, ok := a.client.refused(); r != nil { // said loudly by the client; the heartbeat notices the fix
			select {
			case <-ok:
			case <-ctx.Done():
				return
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		release := func() { <-slots }
		start := time.Now()
		data, err := a.client.Lease(ctx, a.leaseWait)
		if err != nil {
			release()
			if ctx.Err() == nil {
				wait := b.next()
				a.log.Warn("lease failed", "err", err, "retry_in", wait)
				sleepCtx(ctx, wait)
			}
			continue
		}
		b.reset()
		if data == nil {
			release()
			if time.Since(start) < time.Second { // a 204 without waiting: do not spin
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		id, job, err := decodeLease(data)
		switch {
		case err != nil && id == "":
			release()
			a.log.Error("lease answer unusable", "err", err)
			sleepCtx(ctx, backoffMin) // do not spin on a server that keeps sending it
		case err != nil:
			release()
			a.log.Error("job refused", "job", id, "err", err)
			a.complete(id, completeRequest{Status: "failed", Error: err.Error()})
		default:
			running.Add(1)
			go func() {
				defer running.Done()
				defer release()
				a.runJob(ctx, job)
			}()
		}
	}
}

// complete spools a job's complete message, or logs why it cannot.
func (a *Agent) complete(id string, c completeRequest) {
	if err := a.spool.Put(id, 0, c); err != nil {
		a.log.Error("cannot spool the job's completion", "job", id, "err", err)
	}
}

func (a *Agent) activeJobs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]string, 0, len(a.active))
	for id := range a.active {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (a *Agent) stopJob(id string, why error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cancel := a.active[id]; cancel != nil {
		cancel(why)
	}
}

// runJob scans one job, spooling open ports in batches as it goes and its
// completion at the end, and reporting progress meanwhile.
func (a *Agent) runJob(parent context.Context, job *Job) {
	log := a.log.With("job", job.ID)
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if job.MaxDuration > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, job.MaxDuration, errMaxDuration)
		defer stop()
	}
	a.spool.StartJob(job.ID)
	defer a.spool.EndJob(job.ID)
	a.mu.Lock()
	a.active[job.ID] = cancel
	a.mu.Unlock()
	defer func() { a.mu.Lock(); delete(a.active, job.ID); a.mu.Unlock() }()

	p := ScanParams{
		Targets: job.Targets, Ports: job.Ports, Timeout: job.Timeout, Retries: job.Retries,
		Rate:        float64(capTo(job.RateLimit, a.capacity.MaxRate)),
		Concurrency: capTo(job.Concurrency, a.capacity.MaxConcurrency),
	}
	log.Info("job started", "hosts", job.HostsTotal, "probes", job.PortsTotal, "rate", p.Rate, "concurrency", p.Concurrency)

	// Open ports go to a batcher that spools a batch when it is full or
	// batchEvery has passed.
	opens := make(chan Open, 1024)
	batches := 0
	var spoolErr error
	batcherDone := make(chan struct{})
	go func() {
		defer close(batcherDone)
		var buf []wireResult
		tick := time.NewTicker(a.batchEvery)
		defer tick.Stop()
		flush := func() {
			if len(buf) == 0 || spoolErr != nil {
				return
			}
			batches++
			if err := a.spool.Put(job.ID, batches, resultsRequest{Attempt: job.Attempt, Batch: batches, Results: buf}); err != nil {
				spoolErr = err
				cancel(err)
			}
			buf = nil
		}
		for {
			select {
			case o, ok := <-opens:
				if !ok {
					flush()
					return
				}
				buf = append(buf, wireResult{Address: o.Addr.String(), Port: o.Port, ObservedAt: o.ObservedAt, RTTMicros: o.RTT.Microseconds()})
				if len(buf) >= a.batchMax {
					flush()
				}
			case <-tick.C:
				flush()
			}
		}
	}()

	var prog Progress
	progStop := make(chan struct{})
	progDone := make(chan struct{})
	go func() {
		defer close(progDone)
		tick := time.NewTicker(a.progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				a.progress(ctx, cancel, job, &prog)
			case <-progStop:
				return
			}
		}
	}()

	cpu := startCPUShare(a.engine)
	stats, err := a.engine.Scan(ctx, p, &prog, func(o Open) { opens <- o })
	cpuSeconds := cpu.share(stats.Attempts)
	close(opens)
	<-batcherDone
	close(progStop)
	<-progDone

	c := completeRequest{Status: "done", HostsDone: prog.HostsDone.Load(), PortsProbed: prog.PortsProbed.Load(), Batches: batches,
		CPUSeconds: cpuSeconds, Attempt: job.Attempt}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errGone) || a.spool.Gone(job.ID):
		log.Warn("job dropped: ingest no longer knows it")
		return
	case spoolErr != nil:
		c.Status, c.Error = "failed", "spool: "+spoolErr.Error()
	case err == nil:
	case errors.Is(cause, errMaxDuration):
		c.Status, c.Error = "failed", fmt.Sprintf("stopped after max_duration_seconds (%s)", job.MaxDuration)
	case parent.Err() != nil && !errors.Is(cause, errCancelled):
		// The scanner is stopping (SIGTERM, an upgrade): the job is not over, so it stays leased.
		// Ingest hands it out again once it stalls, to this scanner when it is back for a vantage
		// job, and what this run found is in the spool for the next start to send.
		log.Info("stopping: the job stays leased; ingest hands it out again after its stall window",
			"batches", batches, "open", stats.Open)
		return
	default:
		// A cancelled job still says why, so the scan's page can tell an operator's cancel from
		// a scanner that was stopped under it.
		c.Status = "cancelled"
		switch {
		case errors.Is(cause, errCancelled):
			c.Error = "cancelled by ingest: the scan was cancelled"
		case cause != nil:
			c.Error = cause.Error()
		default:
			c.Error = "cancelled"
		}
	}
	if parent.Err() == nil { // not stopping: tell ingest where the job ended
		pctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		a.progress(pctx, cancel, job, &prog)
		stop()
	}
	a.complete(job.ID, c)
	log.Info("job finished", "status", c.Status, "error", c.Error, "batches", batches,
		"open", stats.Open, "closed", stats.Closed, "filtered", stats.Filtered, "attempts", stats.Attempts,
		"local_errors", stats.LocalErrors, "cpu_seconds", cpuSeconds)
}

// progress reports the job's counters; ingest's answer may cancel the job.
func (a *Agent) progress(ctx context.Context, cancel context.CancelCauseFunc, job *Job, p *Progress) {
	if r, _ := a.client.refused(); r != nil {
		return // ingest refuses the scanner: only the heartbeat asks, until it accepts it again
	}
	resp, err := a.client.Progress(ctx, job.ID, progressRequest{
		HostsDone: p.HostsDone.Load(), HostsTotal: job.HostsTotal,
		PortsProbed: p.PortsProbed.Load(), PortsTotal: job.PortsTotal,
	})
	switch {
	case isGone(err):
		a.spool.DropJob(job.ID)
		cancel(errGone)
	case err != nil:
		if ctx.Err() == nil {
			a.log.Warn("progress failed", "job", job.ID, "err", err)
		}
	case resp.Cancel:
		a.log.Info("ingest cancelled the job", "job", job.ID)
		cancel(errCancelled)
	}
}

// cpuShare apportions the process's CPU time to one job: the CPU seconds
// the process used while the job ran, times the job's share of the
// connection attempts the engine made meanwhile (jobs running at once split
// the time by their work; a job alone gets it all).
type cpuShare struct {
	engine   Engine
	cpu      float64
	attempts uint64
}

func startCPUShare(e Engine) cpuShare {
	return cpuShare{engine: e, cpu: processCPUSeconds(), attempts: e.Attempts()}
}

func (c cpuShare) share(jobAttempts uint64) float64 {
	used := processCPUSeconds() - c.cpu
	if all := c.engine.Attempts() - c.attempts; all > jobAttempts && all > 0 {
		used *= float64(jobAttempts) / float64(all)
	}
	return math.Round(used*1e6) / 1e6
}

// processCPUSeconds is this process's user and system CPU time so far.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// capTo is the job's ask, or the scanner's own limit when the job says 0
// or asks for more.
func capTo(ask, limit int) int {
	if ask <= 0 || ask > limit {
		return limit
	}
	return ask
}
