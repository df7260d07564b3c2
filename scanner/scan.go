package main

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ScanParams is what one scan does. Rate and Concurrency are already
// resolved against the scanner's capacity by the caller.
type ScanParams struct {
	Targets     []Interval
	Ports       []PortRange
	Rate        float64       // attempts per second; <= 0: unlimited
	Concurrency int           // attempts in flight; also capped by the fd budget
	Timeout     time.Duration // starting connect timeout
	Retries     int           // extra attempts for a port that timed out
}

// Open is one open port.
type Open struct {
	Addr       netip.Addr
	Port       uint16
	ObservedAt time.Time
	RTT        time.Duration
}

// Progress is read while a scan runs; every field only grows.
type Progress struct {
	HostsDone   atomic.Uint64
	PortsProbed atomic.Uint64 // ports whose outcome is final
}

// ScanStats says what happened, for logs and tests.
type ScanStats struct {
	Attempts    uint64 // connection attempts, retries included
	Open        uint64
	Closed      uint64 // refused (or a connection to itself: see selfConnect)
	Filtered    uint64 // timed out on every attempt
	Timeouts    uint64 // attempts that timed out
	Unreachable uint64 // host or network unreachable (also ports skipped for it), and other errors
	LocalErrors uint64 // out of file descriptors, ports or buffers here: waited out and retried, never a verdict
	MaxInFlight int64  // most attempts ever in flight at once
	Concurrency int    // the concurrency the scan ran with
}

// Engine runs scans. A scanner has one, and every job it runs at once
// shares it, so the scanner's own limits (its max rate, its max
// concurrency, the process's file descriptors) hold across all its jobs.
type Engine interface {
	// Scan probes every port of every target by TCP connect, calls onOpen
	// (from any goroutine) for each open port, and returns when all are
	// final (nil) or ctx ended (ctx's error). No onOpen runs after it
	// returned.
	Scan(ctx context.Context, p ScanParams, progress *Progress, onOpen func(Open)) (ScanStats, error)
	// Attempts counts the connection attempts of all scans so far: the
	// agent apportions the process's CPU time among jobs by it.
	Attempts() uint64
	Close()
}

// Limits are what an engine never exceeds, whatever its jobs ask:
// Rate <= 0 and Concurrency <= 0 mean no limit but the fd budget.
type Limits struct {
	Rate        float64
	Concurrency int
}

// Scan runs one scan on an engine of its own (the platform's best).
func Scan(ctx context.Context, p ScanParams, progress *Progress, onOpen func(Open)) (ScanStats, error) {
	e := NewEngine(Limits{})
	defer e.Close()
	return e.Scan(ctx, p, progress, onOpen)
}

// fdHeadroom is kept free of probes for the spool, HTTP and the runtime.
const fdHeadroom = 64

// fdBudget is how many more file descriptors this process may open: the
// soft RLIMIT_NOFILE minus those already open, minus headroom.
func fdBudget() int {
	limit, err := fdSoftLimit()
	if err != nil {
		return 256
	}
	used, err := openFDs("/proc")
	if err != nil {
		used = 64 // a guess, if /proc is missing
	}
	return max(1, limit-used-fdHeadroom)
}

// engineBudget is the concurrency an engine allows in all: its limit,
// within the fd budget.
func engineBudget(l Limits) int {
	b := fdBudget()
	if l.Concurrency > 0 {
		b = min(b, l.Concurrency)
	}
	return b
}

// outcome of one connection attempt.
type outcome int

const (
	outOpen outcome = iota
	outClosed
	outTimeout
	outHostDown  // ICMP host or network unreachable: the host's other ports are not tried
	outError     // another error about this port alone (a local firewall's EPERM, ...)
	outLocal     // a shortage on this host: wait and try again, never a verdict
	outCancelled // the scan was stopped
)

// classifyErrno reads a connect's error (from connect(2) or SO_ERROR).
func classifyErrno(e syscall.Errno) outcome {
	switch e {
	case 0:
		return outOpen
	case syscall.ECONNREFUSED:
		return outClosed
	case syscall.ETIMEDOUT:
		return outTimeout
	case syscall.EHOSTUNREACH, syscall.ENETUNREACH:
		return outHostDown
	case syscall.EADDRNOTAVAIL, syscall.EAGAIN, syscall.ENOBUFS, syscall.ENOMEM, syscall.EMFILE, syscall.ENFILE:
		return outLocal
	}
	return outError
}

// A probe is one port of one host and how many times it timed out.
type probe struct {
	h       *host
	port    uint16
	attempt uint8
}

func (pr probe) addrPort() netip.AddrPort { return netip.AddrPortFrom(pr.h.addr, pr.port) }

// host is what a scan knows about one target address while its ports are
// probed: its own round-trip times (a slow host must not slow the others,
// nor a fast one cut a slow one's timeouts), and whether it is unreachable.
type host struct {
	addr   netip.Addr
	left   atomic.Int64 // ports not yet final
	rtt    rttEstimator
	silent atomic.Int32 // attempts that timed out before it first answered
	down   atomic.Bool  // ICMP unreachable: its remaining ports are skipped

	atOnceHits, atOnceMisses atomic.Int32 // verdicts there right after connect, or not
}

// answersAtOnce says whether to look for a verdict right after connect: a
// host on this machine answers within the connect call, one elsewhere never
// does, and the look is then a wasted system call. Its first few probes
// tell which it is.
func (h *host) answersAtOnce() bool {
	return h.atOnceHits.Load() > 0 || h.atOnceMisses.Load() < 4
}

func (h *host) atOnce(hit bool) {
	if hit {
		if h.atOnceHits.Load() == 0 {
			h.atOnceHits.Add(1)
		}
		return
	}
	if h.atOnceMisses.Load() < 4 {
		h.atOnceMisses.Add(1)
	}
}

// silentProbes is how many timeouts a host that never answered may have
// before its timeouts stop following the other hosts' round-trip times and
// fall back to the job's own timeout.
const silentProbes = 8

// job is one scan's state, shared by both engines: the probe source (a
// cursor over targets x ports, host by host, and a queue of retries), the
// per-host timing, and the counters.
type job struct {
	p        ScanParams
	onOpen   func(Open)
	progress *Progress
	limiter  *tokenBucket // nil: no rate limit
	conc     int          // attempts in flight at most
	est      rttEstimator // over all hosts: the first guess for a host not yet heard from

	mu      sync.Mutex
	cur     cursor
	retries []probe

	remaining atomic.Int64 // ports not yet final; done is closed at 0
	done      chan struct{}
	inFlight  atomic.Int64
	ended     atomic.Bool // the epoll engine's loops take no more of it

	attempts, open, closed, filtered, timeouts, unreachable, localErrs atomic.Uint64
	maxInFlight                                                        atomic.Int64
}

func newJob(p ScanParams, progress *Progress, onOpen func(Open), budget int) *job {
	if progress == nil {
		progress = &Progress{}
	}
	j := &job{p: p, onOpen: onOpen, progress: progress, done: make(chan struct{}),
		conc: max(1, min(max(p.Concurrency, 1), budget))}
	if p.Rate > 0 {
		j.limiter = newTokenBucket(p.Rate)
	}
	j.cur = cursor{targets: p.Targets, ports: p.Ports, ti: -1}
	var perHost, hosts int64
	for _, r := range p.Ports {
		perHost += int64(r.Size())
	}
	for _, iv := range p.Targets {
		hosts += int64(min(iv.Size(), 1<<62))
	}
	j.cur.perHost = perHost
	j.remaining.Store(perHost * hosts)
	if perHost*hosts == 0 {
		close(j.done)
	}
	return j
}

// next gives up to len(buf) probes to try: retries first, then new ones.
func (j *job) next(buf []probe) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for n < len(buf) {
		if k := len(j.retries); k > 0 {
			pr := j.retries[k-1]
			j.retries = j.retries[:k-1]
			if pr.h.down.Load() {
				j.final(pr.h, 1, outHostDown)
				continue
			}
			buf[n] = pr
			n++
			continue
		}
		pr, ok := j.cur.next(j)
		if !ok {
			break
		}
		buf[n] = pr
		n++
	}
	return n
}

// again queues a probe to be tried again.
func (j *job) again(pr probe) {
	j.mu.Lock()
	j.retries = append(j.retries, pr)
	j.mu.Unlock()
}

// reserved counts n more attempts in flight (n < 0: fewer).
func (j *job) reserved(n int64) {
	cur := j.inFlight.Add(n)
	for m := j.maxInFlight.Load(); cur > m && !j.maxInFlight.CompareAndSwap(m, cur); m = j.maxInFlight.Load() {
	}
}

// settle takes one attempt's outcome and says whether the port must be tried
// again: after a timeout while attempts remain (the caller counts it), or
// after a local shortage (which is not an attempt's verdict at all).
func (j *job) settle(pr probe, o outcome, rtt time.Duration, at time.Time) (again bool) {
	h := pr.h
	switch o {
	case outOpen, outClosed:
		h.rtt.sample(rtt)
		j.est.sample(rtt)
		if o == outOpen {
			j.onOpen(Open{Addr: h.addr, Port: pr.port, ObservedAt: at.UTC(), RTT: rtt})
		}
	case outHostDown:
		h.down.Store(true)
	case outTimeout:
		j.timeouts.Add(1)
		if !h.rtt.have() {
			h.silent.Add(1)
		}
		if h.down.Load() {
			o = outHostDown
		} else if int(pr.attempt) < j.p.Retries {
			return true
		}
	case outLocal:
		j.localErrs.Add(1)
		return true
	case outCancelled:
		return false
	}
	j.final(h, 1, o)
	return false
}

// final records n ports of h as final with outcome o.
func (j *job) final(h *host, n int64, o outcome) {
	switch o {
	case outOpen:
		j.open.Add(uint64(n))
	case outClosed:
		j.closed.Add(uint64(n))
	case outTimeout:
		j.filtered.Add(uint64(n))
	default:
		j.unreachable.Add(uint64(n))
	}
	j.progress.PortsProbed.Add(uint64(n))
	if h.left.Add(-n) == 0 {
		j.progress.HostsDone.Add(1)
	}
	if j.remaining.Add(-n) == 0 {
		close(j.done)
	}
}

// timeout is the connect timeout for a probe's attempt: the host's own
// estimate once it answered; before that, the other hosts' estimate, until
// it has been silent for silentProbes attempts; then (and before any host
// answered) the job's timeout. Doubled per retry, never above 4x the job's.
func (j *job) timeout(pr probe) time.Duration {
	base := j.p.Timeout
	t := base
	switch {
	case pr.h.rtt.have():
		t = pr.h.rtt.estimate(base)
	case pr.h.silent.Load() < silentProbes && j.est.have():
		t = j.est.estimate(base)
	}
	t <<= min(pr.attempt, 8)
	return min(t, 4*base)
}

func (j *job) stats() ScanStats {
	return ScanStats{
		Attempts: j.attempts.Load(), Open: j.open.Load(), Closed: j.closed.Load(),
		Filtered: j.filtered.Load(), Timeouts: j.timeouts.Load(), Unreachable: j.unreachable.Load(),
		LocalErrors: j.localErrs.Load(), MaxInFlight: j.maxInFlight.Load(), Concurrency: j.conc,
	}
}

// result is what Scan returns once the job is over: nil when every port is
// final, else ctx's error.
func (j *job) result(ctx context.Context) (ScanStats, error) {
	if j.remaining.Load() > 0 {
		<-ctx.Done() // a deadline seen passed may fire a moment later
		return j.stats(), ctx.Err()
	}
	return j.stats(), nil
}

// cursor walks targets x ports host by host, in order, never expanding an
// interval in memory.
type cursor struct {
	targets []Interval
	ports   []PortRange
	perHost int64

	ti   int // current interval; -1 before the first
	addr netip.Addr
	h    *host // nil between hosts
	pi   int
	port int
}

// next is the next new probe, or false when there is none. It skips what
// is left of a host that went down, counting those ports final.
func (c *cursor) next(j *job) (probe, bool) {
	for {
		if c.h == nil && !c.nextHost() {
			return probe{}, false
		}
		if c.h.down.Load() {
			j.final(c.h, c.leftOfHost(), outHostDown)
			c.h = nil
			continue
		}
		pr := probe{h: c.h, port: uint16(c.port)}
		if c.port++; c.port > int(c.ports[c.pi].Last) {
			if c.pi++; c.pi < len(c.ports) {
				c.port = int(c.ports[c.pi].First)
			} else {
				c.h = nil
			}
		}
		return pr, true
	}
}

func (c *cursor) nextHost() bool {
	switch {
	case c.ti >= 0 && c.addr != c.targets[c.ti].Last:
		c.addr = c.addr.Next()
	case c.ti+1 < len(c.targets):
		c.ti++
		c.addr = c.targets[c.ti].First
	default:
		return false
	}
	c.h = &host{addr: c.addr}
	c.h.left.Store(c.perHost)
	c.pi, c.port = 0, int(c.ports[0].First)
	return true
}

// leftOfHost is how many ports of the current host were not yet produced.
func (c *cursor) leftOfHost() int64 {
	n := int64(c.ports[c.pi].Last) - int64(c.port) + 1
	for _, r := range c.ports[c.pi+1:] {
		n += int64(r.Size())
	}
	return n
}

// deadlinePassed sees a passed deadline before ctx's own timer fires and
// cancels it: a probe must not take the scan's end for its target's silence.
func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// rttEstimator keeps a smoothed RTT and its variation (RFC 6298's
// estimators) over refused and accepted connections, lock-free: a lost
// update among concurrent samples only slows the average a little.
type rttEstimator struct {
	srtt, rttvar atomic.Int64 // nanoseconds
	haveSample   atomic.Bool
}

func (r *rttEstimator) have() bool { return r.haveSample.Load() }

func (r *rttEstimator) sample(d time.Duration) {
	if !r.haveSample.Load() {
		r.srtt.Store(int64(d))
		r.rttvar.Store(int64(d / 2))
		r.haveSample.Store(true)
		return
	}
	srtt, v := r.srtt.Load(), r.rttvar.Load()
	diff := int64(d) - srtt
	if diff < 0 {
		diff = -diff
	}
	r.rttvar.Store(v + (diff-v)/4)
	r.srtt.Store(srtt + (int64(d)-srtt)/8)
}

// rttFloor is the least connect timeout an estimate may set: a job's
// targets can sit behind slower links than the ones sampled so far.
const rttFloor = 250 * time.Millisecond

// estimate is srtt + 4 rttvar, never below min(job timeout, 250 ms).
func (r *rttEstimator) estimate(base time.Duration) time.Duration {
	t := time.Duration(r.srtt.Load() + 4*r.rttvar.Load())
	return max(t, min(base, rttFloor))
}
