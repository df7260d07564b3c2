package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/jobs/jobsapi"
	"mipo/modules/results/resultsapi"
	"mipo/modules/scanners/scannersapi"
)

type handlers struct {
	m       *app.Mount
	asn     *scannersapi.ASNDatabase
	refused *refusalLog
	meter   *meter
	// leasePoll is how often a waiting lease looks for a job again.
	leasePoll time.Duration
	// heartbeatSeconds is the interval told to scanners (scannersapi.HeartbeatSeconds).
	heartbeatSeconds int
}

func (h *handlers) routes() []app.Route {
	post := http.MethodPost
	return []app.Route{
		{Method: post, Path: "/scanner/v1/register", Scope: app.Public, Handler: h.register, Request: RegisterRequest{}, Response: RegisterResponse{},
			Summary: "Exchange a single-use provisioning token for the scanner's permanent API key (shown once)"},
		{Method: post, Path: "/scanner/v1/heartbeat", Scope: app.ScannerKey, Handler: h.heartbeat, Request: HeartbeatRequest{}, Response: HeartbeatResponse{},
			Summary: "A scanner's heartbeat: version, capacity, CPU, memory and network counters, running jobs"},
		{Method: post, Path: "/scanner/v1/jobs/lease", Scope: app.ScannerKey, Handler: h.lease, Request: LeaseRequest{}, Response: LeaseResponse{},
			Summary: "Long poll for the scanner's next job; 204 when none came within the wait"},
		{Method: post, Path: "/scanner/v1/jobs/:id/progress", Scope: app.ScannerKey, Handler: h.progress, Request: ProgressRequest{}, Response: ProgressResponse{},
			Summary: "A running job's counters; the answer says whether the job was cancelled"},
		{Method: post, Path: "/scanner/v1/jobs/:id/results", Scope: app.ScannerKey, Handler: h.results, Request: ResultsRequest{}, Response: ResultsResponse{},
			Summary: "One batch of a job's open ports, stored exactly once (a repeated batch answers duplicate: true)"},
		{Method: post, Path: "/scanner/v1/jobs/:id/complete", Scope: app.ScannerKey, Handler: h.complete, Request: CompleteRequest{}, Response: CompleteResponse{},
			Summary: "A job's end: done, failed or cancelled; 409 missing_batches while any batch has not arrived"},
	}
}

func (h *handlers) register(c echo.Context) error {
	var in RegisterRequest
	if err := decode(c, maxSmallBody, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	reg, err := scannersapi.Register(ctx, h.m.ConfigDB, h.asn, scannersapi.Registration{Token: in.Token, Hostname: in.Hostname,
		Version: in.Version, Capacity: in.Capacity, Source: sourceOf(c)}, h.m.Clock.Now())
	var ref *scannersapi.Refusal
	if errors.As(err, &ref) {
		h.refused.record(ctx, ref, c.Path())
		return ref.APIError()
	}
	if err != nil {
		return err
	}
	s := reg.Scanner
	if err := h.m.Events.Emit(ctx, scannersapi.EventRegistered, s.ID, scannersapi.StatusEvent{ScannerID: s.ID, Name: s.Name,
		LastSeenAt: s.LastSeenAt, Address: s.RegisteredFrom}); err != nil {
		h.m.Log.Error("scanner.registered event not emitted", "scanner", s.ID, "err", err)
	}
	h.m.Log.Info("scanner registered", "scanner", s.ID, "name", s.Name, "source", s.RegisteredFrom, "binding", s.Binding)
	return c.JSON(http.StatusOK, RegisterResponse{ScannerID: s.ID, Name: s.Name, APIKey: reg.APIKey, HeartbeatSeconds: h.heartbeatSeconds})
}

func (h *handlers) heartbeat(c echo.Context) error {
	var in HeartbeatRequest
	if err := decode(c, maxSmallBody, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx, id := c.Request().Context(), scannerOf(c)
	now := h.m.Clock.Now()
	online, err := scannersapi.Heartbeat(ctx, h.m.ConfigDB, h.m.Events, id.ID, scannersapi.HeartbeatReport{
		Version: in.Version, Hostname: in.Hostname, Capacity: in.Capacity,
		Load1: in.Metrics.Load1, CPUPercent: in.Metrics.CPUPercent, MemUsed: in.Metrics.MemUsedBytes, MemTotal: in.Metrics.MemTotalBytes,
		NetRx: in.Metrics.NetRxBytes, NetTx: in.Metrics.NetTxBytes, FDOpen: in.Metrics.FDOpen, FDLimit: in.Metrics.FDLimit,
		ActiveJobs: len(in.ActiveJobs), Source: sourceOf(c),
	}, now)
	if err != nil {
		return err
	}
	if online {
		h.m.Log.Info("scanner is online again", "scanner", id.ID, "name", id.Name)
	}
	return c.JSON(http.StatusOK, HeartbeatResponse{ServerTime: now.UTC().Format(time.RFC3339Nano), HeartbeatSeconds: h.heartbeatSeconds})
}

// leaseWindow is how long a leased job may go without progress before the dispatcher's
// reconciler may take it back; lease_expires_at tells the scanner (for its logs).
const leaseWindow = 2 * time.Minute

func (h *handlers) lease(c echo.Context) error {
	var in LeaseRequest
	if err := decode(c, maxSmallBody, &in); err != nil {
		return err
	}
	if in.WaitSeconds < 0 || in.WaitSeconds > 60 {
		return app.Invalid("wait_seconds", "invalid_wait", "wait_seconds must be a whole number from 0 to 60")
	}
	wait := time.Duration(min(in.WaitSeconds, 30)) * time.Second
	ctx, id := c.Request().Context(), scannerOf(c)
	deadline := time.Now().Add(wait)
	for {
		// A scanner disabled while it waits gets no job.
		s, err := scannersapi.Get(ctx, h.m.ConfigDB, id.ID)
		if err != nil {
			return err
		}
		if s.Disabled {
			return c.NoContent(http.StatusNoContent)
		}
		now := h.m.Clock.Now()
		j, err := jobsapi.Lease(ctx, h.m.JobsDB, id.ID, now)
		if err != nil {
			return err
		}
		if j != nil {
			h.m.Log.Info("job leased", "job", j.ID, "scan", j.ScanID, "scanner", id.ID)
			return c.JSON(http.StatusOK, LeaseResponse{Job: wireJob(j, now)})
		}
		left := time.Until(deadline)
		if left <= 0 {
			return c.NoContent(http.StatusNoContent)
		}
		select {
		case <-ctx.Done():
			return c.NoContent(http.StatusNoContent)
		case <-time.After(min(left, h.leasePoll)):
		}
	}
}

func wireJob(j *jobsapi.Job, now time.Time) WireJob {
	ports := [][2]int{}
	for _, r := range j.Ports.Ranges() {
		ports = append(ports, [2]int{int(r.First), int(r.Last)})
	}
	return WireJob{ID: j.ID, ScanID: j.ScanID, Targets: j.Targets, Ports: ports, RateLimit: j.RateLimit, Concurrency: j.Concurrency,
		TimeoutMS: j.TimeoutMS, Retries: j.Retries, MaxDurationSeconds: j.MaxDurationSeconds, LeaseExpiresAt: now.Add(leaseWindow).UTC(),
		Attempt: j.Attempts}
}

var errGone = &app.Error{Status: http.StatusGone, Code: "job_gone",
	Message: "this job is no longer assigned to this scanner (finished, cancelled, or re-queued after a stall): drop it"}

// ownJob loads a job and requires it to be the scanner's. Any job the scanner cannot act on is
// 410 job_gone, as the protocol says.
func (h *handlers) ownJob(ctx context.Context, c echo.Context) (*jobsapi.Job, error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return nil, errGone
	}
	j, err := jobsapi.Get(ctx, h.m.JobsDB, id)
	if errors.Is(err, jobsapi.ErrNotFound) {
		return nil, errGone
	}
	if err != nil {
		return nil, err
	}
	if j.ScannerID != scannerOf(c).ID {
		return nil, errGone
	}
	return j, nil
}

func jobError(err error) error {
	if errors.Is(err, jobsapi.ErrGone) || errors.Is(err, jobsapi.ErrNotFound) {
		return errGone
	}
	return err
}

func (h *handlers) progress(c echo.Context) error {
	var in ProgressRequest
	if err := decode(c, maxSmallBody, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := uuid.Parse(c.Param("id")); err != nil {
		return errGone
	}
	cancel, err := jobsapi.ReportProgress(ctx, h.m.JobsDB, c.Param("id"), scannerOf(c).ID,
		jobsapi.Progress{HostsDone: in.HostsDone, PortsProbed: in.PortsProbed}, h.m.Clock.Now())
	if err != nil {
		return jobError(err)
	}
	return c.JSON(http.StatusOK, ProgressResponse{Cancel: cancel})
}

func (h *handlers) results(c echo.Context) error {
	var in ResultsRequest
	if err := decode(c, maxResultsBody, &in); err != nil {
		return err
	}
	if in.Batch < 1 {
		return app.Invalid("batch", "invalid_batch", "batch numbers start at 1")
	}
	if len(in.Results) > maxBatchResults {
		return &app.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "results",
			Message: fmt.Sprintf("a batch holds at most %d results, this one %d", maxBatchResults, len(in.Results))}
	}
	if in.Attempt < 0 {
		return app.Invalid("attempt", "invalid_attempt", "attempt is the lease's attempt, from 1; omit it if unknown")
	}
	ctx, me := c.Request().Context(), scannerOf(c).ID
	if _, err := uuid.Parse(c.Param("id")); err != nil {
		return errGone
	}
	j, err := jobsapi.Get(ctx, h.m.JobsDB, c.Param("id"))
	if err != nil {
		return jobError(err)
	}
	held, err := h.holding(ctx, j, me, in.Attempt)
	if err != nil {
		return err
	}
	// The lease the job is on now, or the one that completed it (a completion records its
	// batches; a job failed by the reconciler after its last stall records none).
	current := j.ScannerID == me && held.Attempt == j.Attempts && (!j.Finished() || j.Batches != nil)
	if !current || j.Finished() {
		// A batch re-sent after its job ended (an acknowledgement lost on the way back), or a
		// former holder's: a repeat is acknowledged as such.
		have, err := resultsapi.ReceivedBatches(ctx, h.m.ResultsDB, j.ID, held.Attempt)
		if err != nil {
			return err
		}
		for _, b := range have {
			if b == in.Batch {
				return c.JSON(http.StatusOK, ResultsResponse{Accepted: len(in.Results), Duplicate: true})
			}
		}
		if current { // the holder that completed the job sends nothing new after its complete
			return errGone
		}
		// A former holder's results, sent late (it could not reach ingest while its lease
		// stalled and the job was re-queued): real observations of the scan, kept while the
		// scan runs. Once every job of the scan ended, its outcome is worked out and the
		// batch is refused as before.
		state, err := jobsapi.StateOf(ctx, h.m.JobsDB, j.ScanID)
		if err != nil {
			return err
		}
		if state.Finished() {
			return errGone
		}
	}
	now := h.m.Clock.Now()
	obs, err := observations(in.Results, j, held.LeasedAt, now, clockOffset(c.Request().Header.Get("Date"), now))
	if err != nil {
		return err
	}
	b := resultsapi.Batch{JobID: j.ID, ScanID: j.ScanID, ScannerID: me, Attempt: held.Attempt, Seq: in.Batch, Observations: obs}
	if j.Attempts > 1 { // the job changed hands: an open port both holders saw is stored once
		b.SharedSince = j.CreatedAt.Add(-clockSkew)
	}
	dup, err := resultsapi.Insert(ctx, h.m.ResultsDB, b, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if !dup {
		h.meter.results.Add(int64(len(obs)))
		if !current {
			h.m.Log.Info("late results of a former holder stored", "job", j.ID, "scan", j.ScanID, "scanner", me,
				"attempt", held.Attempt, "batch", in.Batch, "results", len(obs))
		}
	}
	return c.JSON(http.StatusOK, ResultsResponse{Accepted: len(obs), Duplicate: dup})
}

// holding is the lease of a job a scanner's results belong to: the attempt it names, else the
// scanner's latest. The current holder of a job leased before holders were recorded holds
// the job's current attempt. A scanner that never held the job (or not that attempt) gets
// 410 job_gone.
func (h *handlers) holding(ctx context.Context, j *jobsapi.Job, scannerID string, attempt int) (jobsapi.Holding, error) {
	held, err := jobsapi.HeldBy(ctx, h.m.JobsDB, j.ID, scannerID)
	if err != nil {
		return jobsapi.Holding{}, err
	}
	if j.ScannerID == scannerID && j.Active() && (attempt == 0 || attempt == j.Attempts) &&
		(len(held) == 0 || held[0].Attempt != j.Attempts) { // leased before holders were recorded
		held = append([]jobsapi.Holding{{Attempt: j.Attempts, LeasedAt: leasedSince(j)}}, held...)
	}
	for _, hd := range held {
		if attempt == 0 || hd.Attempt == attempt {
			return hd, nil
		}
	}
	if j.ScannerID == scannerID && j.Finished() && (attempt == 0 || attempt == j.Attempts) {
		// Finished before holders were recorded: only a repeated batch is acknowledged.
		return jobsapi.Holding{Attempt: j.Attempts, LeasedAt: leasedSince(j)}, nil
	}
	return jobsapi.Holding{}, errGone
}

// clockSkew is how far a scanner's clock may be from mipo's. A result observed before its job
// was leased, or after now, by more than this cannot be true (docs/scanner-protocol.md).
const clockSkew = resultsapi.ClockSkew

// clockOffset is how far the scanner's clock is behind mipo's, read from the Date header the
// scanner sent the request with: zero when there is none, or when the two agree within the
// header's one-second resolution and the request's transit. Added to the times the scanner
// observed, it puts them on mipo's clock, so results of scanners whose clocks are wrong order
// by server time among everyone else's.
func clockOffset(date string, now time.Time) time.Duration {
	sent, err := http.ParseTime(date)
	if err != nil {
		return 0
	}
	if d := now.Sub(sent); d <= -2*time.Second || d >= 2*time.Second {
		return d.Round(time.Second)
	}
	return 0
}

// observations checks a batch against its job: every result a canonical address among the job's
// targets, a port among its ports, and observed while the job was leased, give or take the
// clock skew. A batch that breaks the rules can never be accepted: 422. The same address and
// port twice in one batch is one fact: it is stored once. Times are moved by offset, the
// scanner's clock's distance from mipo's (clockOffset), before they are checked and stored.
func observations(in []WireResult, j *jobsapi.Job, leasedAt, now time.Time, offset time.Duration) ([]resultsapi.Observation, error) {
	from, to := leasedAt.Add(-clockSkew), now.Add(clockSkew)
	out := make([]resultsapi.Observation, 0, len(in))
	seen := make(map[netip.AddrPort]bool, len(in))
	for i, r := range in {
		field := func(f string) string { return fmt.Sprintf("results[%d].%s", i, f) }
		bad := func(f, code, msg string) error {
			return &app.Error{Status: http.StatusUnprocessableEntity, Code: code, Field: field(f), Message: msg}
		}
		a, err := netip.ParseAddr(r.Address)
		if err != nil || a.Zone() != "" {
			return nil, bad("address", "invalid_address", fmt.Sprintf("%q is not an IP address", app.Truncate(r.Address, 64)))
		}
		a = a.Unmap()
		if !j.Targets.Contains(a) {
			return nil, bad("address", "outside_job", fmt.Sprintf("%s is not among this job's targets", a))
		}
		if r.Port < 1 || r.Port > 65535 {
			return nil, bad("port", "invalid_port", fmt.Sprintf("port %d is outside 1..65535", r.Port))
		}
		if !j.Ports.Contains(uint16(r.Port)) {
			return nil, bad("port", "outside_job", fmt.Sprintf("port %d is not among this job's ports", r.Port))
		}
		if r.ObservedAt.IsZero() {
			return nil, bad("observed_at", "required", "observed_at is required: when the connection was accepted")
		}
		at := r.ObservedAt.Add(offset)
		if at.Before(from) || at.After(to) {
			return nil, bad("observed_at", "outside_lease", fmt.Sprintf("observed_at %s (%s on mipo's clock) is outside this job's lease, from %s to now, give or take %v of clock skew: is the scanner's clock right?",
				r.ObservedAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339), from.Add(clockSkew).UTC().Format(time.RFC3339), clockSkew))
		}
		if r.RTTMicros < 0 {
			return nil, bad("rtt_us", "invalid_rtt", "rtt_us must not be negative")
		}
		if key := netip.AddrPortFrom(a, uint16(r.Port)); !seen[key] {
			seen[key] = true
			out = append(out, resultsapi.Observation{Address: a, Port: uint16(r.Port), ObservedAt: at.UTC(), RTTMicros: int32(min(r.RTTMicros, 1<<31-1))})
		}
	}
	return out, nil
}

// leasedSince is when the scanner's lease of the job began.
func leasedSince(j *jobsapi.Job) time.Time {
	if j.LeasedAt != nil {
		return *j.LeasedAt
	}
	return j.CreatedAt
}

func (h *handlers) complete(c echo.Context) error {
	var in CompleteRequest
	if err := decode(c, maxSmallBody, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	j, err := h.ownJob(ctx, c)
	if err != nil {
		return err
	}
	if in.Attempt != 0 && in.Attempt != j.Attempts {
		return errGone // an earlier lease's completion: the job's state is its current holder's
	}
	missing, err := resultsapi.MissingBatches(ctx, h.m.ResultsDB, j.ID, j.Attempts, in.Batches)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return app.Conflict("missing_batches", fmt.Sprintf("%d of the job's %d result batches have not arrived; send them, then complete again", len(missing), in.Batches)).
			WithDetail(map[string]any{"missing": missing})
	}
	now := h.m.Clock.Now()
	done, err := jobsapi.Complete(ctx, h.m.JobsDB, j.ID, j.ScannerID, jobsapi.Completion{Status: in.Status, Error: in.Error,
		HostsDone: in.HostsDone, PortsProbed: in.PortsProbed, Batches: in.Batches, CPUSeconds: in.CPUSeconds}, now)
	if errors.Is(err, jobsapi.ErrGone) && j.Finished() && j.Status == in.Status {
		// The same completion again (its answer was lost): finish what the first one began.
		done, err = j, nil
	}
	if err != nil {
		return jobError(err)
	}
	// Partial results of a failed or cancelled job are kept, but claim no coverage.
	cov := resultsapi.Coverage{JobID: done.ID, ScanID: done.ScanID, ScannerID: done.ScannerID, Ports: done.Ports, Status: done.Status, CompletedAt: now}
	if done.Status == jobsapi.Done {
		cov.Targets = done.Targets
	} else {
		cov.Targets = netset.Set{}
	}
	if err := resultsapi.RecordCoverage(ctx, h.m.ResultsDB, cov); err != nil {
		return err
	}
	h.m.Log.Info("job completed", "job", done.ID, "scanner", done.ScannerID, "status", done.Status, "batches", in.Batches, "cpu_seconds", in.CPUSeconds)
	return c.JSON(http.StatusOK, CompleteResponse{})
}
