package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
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
	Closed      uint64 // refused
	Filtered    uint64 // timed out on every attempt
	Timeouts    uint64 // attempts that timed out
	Unreachable uint64 // host or network unreachable, and other errors
	LocalErrors uint64 // out of file descriptors, ports or buffers here (then retried)
	MaxInFlight int64  // most attempts ever in flight at once
	Concurrency int    // the concurrency the scan ran with
}

// fdHeadroom is kept free of probes for the spool, HTTP and the runtime.
const fdHeadroom = 64

// fdBudget is how many more file descriptors this process may open: the
// soft RLIMIT_NOFILE minus those already open, minus headroom.
func fdBudget() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 256
	}
	used := 64 // a guess, if /proc is missing
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		used = len(ents)
	}
	return int(min(rl.Cur, 1<<30)) - used - fdHeadroom
}

type probe struct {
	addr netip.AddrPort
	host *atomic.Int64 // ports of this host not yet final
}

type scanner struct {
	p        ScanParams
	limiter  *tokenBucket
	rtt      rttEstimator
	onOpen   func(Open)
	progress *Progress

	attempts, open, closed, filtered, timeouts, unreachable, localErrs atomic.Uint64
	inFlight, maxInFlight                                              atomic.Int64
}

// Scan probes every port of every target by TCP connect, calls onOpen (from
// many goroutines at once) for each open port, and returns when all are
// done or ctx ends; then it returns ctx's error. Addresses are produced one
// at a time: no interval is ever expanded in memory.
func Scan(ctx context.Context, p ScanParams, progress *Progress, onOpen func(Open)) (ScanStats, error) {
	s := &scanner{p: p, onOpen: onOpen, progress: progress}
	if s.progress == nil {
		s.progress = &Progress{}
	}
	if p.Rate > 0 {
		s.limiter = newTokenBucket(p.Rate)
	}
	s.rtt.base = p.Timeout
	workers := min(max(p.Concurrency, 1), max(fdBudget(), 1))

	probes := make(chan probe, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pr := range probes {
				if ctx.Err() == nil {
					s.probe(ctx, pr)
				}
			}
		}()
	}
	var perHost int64
	for _, r := range p.Ports {
		perHost += int64(r.Size())
	}
	produce := func(a netip.Addr) bool {
		host := new(atomic.Int64)
		host.Store(perHost)
		for _, r := range p.Ports {
			for port := int(r.First); port <= int(r.Last); port++ {
				select {
				case probes <- probe{netip.AddrPortFrom(a, uint16(port)), host}:
				case <-ctx.Done():
					return false
				}
			}
		}
		return true
	}
	for _, iv := range p.Targets {
		if ctx.Err() != nil {
			break
		}
		iv.Each(produce)
	}
	close(probes)
	wg.Wait()
	if deadlinePassed(ctx) {
		<-ctx.Done() // its timer may fire a moment after the deadline
	}
	st := ScanStats{
		Attempts: s.attempts.Load(), Open: s.open.Load(), Closed: s.closed.Load(),
		Filtered: s.filtered.Load(), Timeouts: s.timeouts.Load(), Unreachable: s.unreachable.Load(),
		LocalErrors: s.localErrs.Load(), MaxInFlight: s.maxInFlight.Load(), Concurrency: workers,
	}
	return st, ctx.Err()
}

// outcome of one connection attempt.
type outcome int

const (
	outOpen outcome = iota
	outClosed
	outTimeout
	outUnreachable
	outLocal     // a shortage on this host: wait and try again
	outCancelled // the scan was stopped
)

func classify(ctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outOpen
	case ctx.Err() != nil || deadlinePassed(ctx):
		return outCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return outClosed
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.EADDRNOTAVAIL),
		errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM), errors.Is(err, syscall.EAGAIN):
		return outLocal
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outTimeout
	}
	return outUnreachable
}

// deadlinePassed sees a passed deadline before ctx's own timer fires and
// cancels it: the dial's timeout shares that deadline, and a probe must not
// take the scan's end for its target's silence.
func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// probe tries one port until its outcome is final: open, refused,
// unreachable, or timed out on 1 + Retries attempts. Each retry waits twice
// as long as the one before (capped), so an RTT estimate that was too low
// for this host does not hide its open ports.
func (s *scanner) probe(ctx context.Context, pr probe) {
	localLeft := 20
	for attempt := 0; attempt <= s.p.Retries; {
		if s.limiter != nil && s.limiter.Wait(ctx) != nil {
			return
		}
		timeout := s.rtt.timeout(attempt)
		s.attempts.Add(1)
		n := s.inFlight.Add(1)
		for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
		}
		d := net.Dialer{Timeout: timeout}
		start := time.Now()
		c, err := d.DialContext(ctx, "tcp", pr.addr.String())
		rtt := time.Since(start)
		s.inFlight.Add(-1)
		switch classify(ctx, err) {
		case outOpen:
			conn := c.(*net.TCPConn)
			conn.SetLinger(0) // close with RST: no TIME_WAIT here or there
			conn.Close()
			s.rtt.sample(rtt)
			s.open.Add(1)
			s.onOpen(Open{Addr: pr.addr.Addr(), Port: pr.addr.Port(), ObservedAt: start.Add(rtt).UTC(), RTT: rtt})
			s.done(pr)
			return
		case outClosed:
			s.rtt.sample(rtt)
			s.closed.Add(1)
			s.done(pr)
			return
		case outUnreachable:
			s.unreachable.Add(1)
			s.done(pr)
			return
		case outCancelled:
			return
		case outTimeout:
			s.timeouts.Add(1)
			attempt++
		case outLocal:
			s.localErrs.Add(1)
			if localLeft--; localLeft < 0 {
				s.unreachable.Add(1)
				s.done(pr)
				return
			}
			if sleepCtx(ctx, 10*time.Millisecond) != nil {
				return
			}
		}
	}
	s.filtered.Add(1)
	s.done(pr)
}

func (s *scanner) done(pr probe) {
	s.progress.PortsProbed.Add(1)
	if pr.host.Add(-1) == 0 {
		s.progress.HostsDone.Add(1)
	}
}

// rttEstimator keeps a smoothed RTT and its variation (RFC 6298's
// estimators) over refused and accepted connections, lock-free: a lost
// update among concurrent samples only slows the average a little.
type rttEstimator struct {
	base         time.Duration // the job's timeout_ms
	srtt, rttvar atomic.Int64  // nanoseconds
	haveSample   atomic.Bool
}

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

// rttFloor is the least connect timeout the estimate may set: a job's
// targets can sit behind slower links than the ones sampled so far.
const rttFloor = 250 * time.Millisecond

// timeout is the connect timeout for the given attempt (0 first): the job's
// timeout until RTT samples exist, then srtt + 4 rttvar, never below
// min(job timeout, 250 ms) nor above 4 x the job timeout, doubled per retry
// within the same ceiling.
func (r *rttEstimator) timeout(attempt int) time.Duration {
	t := r.base
	if r.haveSample.Load() {
		t = time.Duration(r.srtt.Load() + 4*r.rttvar.Load())
		t = max(t, min(r.base, rttFloor))
	}
	t <<= min(attempt, 8)
	return min(t, 4*r.base)
}
