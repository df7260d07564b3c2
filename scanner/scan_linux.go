package main

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// NewEngine is the epoll engine on Linux, or the net.Dialer one where
// epoll is refused (a seccomp filter, say).
func NewEngine(l Limits) Engine {
	if e, err := newEpollEngine(l); err == nil {
		return e
	}
	return newDialEngine(l)
}

// epollEngine scans without a goroutine, a dialer or a timer per probe:
// a few loops (one per CPU, at most maxLoops), each with its own epoll
// instance, open non-blocking sockets and issue connects in batches, collect
// completions with epoll_wait, read each verdict from SO_ERROR, and keep the
// deadlines of the attempts in flight in a heap. Go's dialer and netpoller
// cost about 18 µs of CPU per probe on top of the kernel's own work; this
// costs a few system calls.
//
// Its limits hold across all jobs at once: attempts in flight (the fd
// budget) by shared counters, attempts per second by a token bucket that
// every job's own bucket draws through.
type epollEngine struct {
	budget   int64        // attempts in flight at most, all jobs
	limiter  *tokenBucket // the engine's rate; nil: none
	inFlight atomic.Int64
	attempts atomic.Uint64
	cancels  atomic.Uint64 // bumped when a job ends: loops then close its sockets

	mu    sync.Mutex
	jobs  []*job
	loops []*loop
	wg    sync.WaitGroup
	stop  chan struct{}
}

// maxLoops bounds the event loops: connect-scan work is mostly the kernel's,
// done in the caller's system calls, so a loop per CPU is as fast as it gets.
const maxLoops = 4

func newEpollEngine(l Limits) (*epollEngine, error) {
	// Each loop may keep two idle sockets (see idleSocket) beside its share.
	e := &epollEngine{budget: int64(max(1, engineBudget(l)-2*maxLoops)), stop: make(chan struct{})}
	if l.Rate > 0 {
		e.limiter = newTokenBucket(l.Rate)
	}
	n := max(1, min(runtime.GOMAXPROCS(0), maxLoops, int(e.budget)))
	for range n {
		lp, err := newLoop(e, (e.budget+int64(n)-1)/int64(n))
		if err != nil {
			e.Close()
			return nil, err
		}
		e.loops = append(e.loops, lp)
		e.wg.Add(1)
		go func() { defer e.wg.Done(); lp.run() }()
	}
	return e, nil
}

func (e *epollEngine) Attempts() uint64 { return e.attempts.Load() }

func (e *epollEngine) Close() {
	close(e.stop)
	e.wg.Wait()
}

func (e *epollEngine) Scan(ctx context.Context, p ScanParams, progress *Progress, onOpen func(Open)) (ScanStats, error) {
	j := newJob(p, progress, onOpen, int(e.budget))
	e.mu.Lock()
	e.jobs = append(e.jobs, j)
	e.mu.Unlock()
	for _, lp := range e.loops {
		select {
		case lp.wake <- struct{}{}:
		default:
		}
	}
	select {
	case <-j.done:
	case <-ctx.Done():
	}
	// Take the job off the loops, and wait until none of them is busy with
	// it: after Scan returns, no onOpen may run.
	e.mu.Lock()
	for i, x := range e.jobs {
		if x == j {
			e.jobs = append(e.jobs[:i:i], e.jobs[i+1:]...)
			break
		}
	}
	j.ended.Store(true)
	e.mu.Unlock()
	e.cancels.Add(1)
	for j.inFlight.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	return j.result(ctx)
}

func (e *epollEngine) activeJobs(buf []*job) []*job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(buf[:0], e.jobs...)
}

// reserve takes up to want units of a shared count limited to limit.
func reserve(c *atomic.Int64, limit, want int64) int64 {
	for {
		cur := c.Load()
		k := min(want, limit-cur)
		if k <= 0 {
			return 0
		}
		if c.CompareAndSwap(cur, cur+k) {
			return k
		}
	}
}

// slot is one attempt in flight.
type slot struct {
	fd       int32
	j        *job
	pr       probe
	start    int64 // ns since the loop's epoch
	deadline int64
	hi       int // index in the loop's deadline heap
}

// loop is one event loop: its epoll instance and the attempts it has in flight.
type loop struct {
	e        *epollEngine
	epfd     int
	share    int64 // attempts in flight at most in this loop
	inFlight int64
	events   []syscall.EpollEvent
	slots    []slot
	free     []int32
	heap     []int32 // slot indexes, by deadline
	batch    []probe
	epoch    time.Time
	pause    int64 // no new attempt before this (a local shortage)
	backoff  int64
	limited  bool // the last fill ran out of tokens
	more     bool // the last fill stopped at its bound with work left: do not sleep
	cancels  uint64
	jobs     []*job
	next     int // round-robin start among the jobs
	sa4      syscall.SockaddrInet4
	sa6      syscall.SockaddrInet6
	idle     [2]int // a refused IPv4 and IPv6 socket to use again, or -1
	wake     chan struct{}
}

func newLoop(e *epollEngine, share int64) (*loop, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &loop{e: e, epfd: fd, share: share, events: make([]syscall.EpollEvent, 512),
		batch: make([]probe, 64), epoch: time.Now(), wake: make(chan struct{}, 1), idle: [2]int{-1, -1}}, nil
}

func (l *loop) now() int64 { return int64(time.Since(l.epoch)) }

// maxWait bounds every epoll_wait, so a cancelled job's sockets close soon.
const maxWait = 10 * time.Millisecond

func (l *loop) run() {
	defer func() {
		syscall.Close(l.epfd)
		for _, fd := range l.idle {
			if fd >= 0 {
				syscall.Close(fd)
			}
		}
	}()
	for {
		l.jobs = l.e.activeJobs(l.jobs)
		if len(l.jobs) == 0 && l.inFlight == 0 {
			select {
			case <-l.wake:
				continue
			case <-l.e.stop:
				return
			}
		}
		select {
		case <-l.e.stop:
			l.sweep(true)
			return
		default:
		}
		now := l.now()
		l.fill(now)
		n, err := syscall.EpollWait(l.epfd, l.events, l.waitMillis(now))
		if err != nil {
			n = 0 // EINTR: the runtime's preemption signal
		}
		now = l.now()
		for i := range n {
			ev := &l.events[i]
			l.complete(ev.Pad, now)
		}
		l.expire(now)
		if c := l.e.cancels.Load(); c != l.cancels {
			l.cancels = c
			l.sweep(false)
		}
	}
}

// waitMillis is how long epoll_wait may sleep: until the next deadline,
// or a little while when tokens or resources ran short, never over maxWait.
func (l *loop) waitMillis(now int64) int {
	w := int64(maxWait)
	if len(l.heap) > 0 {
		w = min(w, l.slots[l.heap[0]].deadline-now)
	}
	if l.limited || l.pause > now {
		w = min(w, int64(time.Millisecond))
	}
	if l.more {
		w = 0
	}
	if w <= 0 {
		return 0
	}
	return int((w + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

// fill starts as many attempts as every limit allows, taking turns among
// the jobs a batch at a time. It starts at most a loop's share of attempts
// (answers that come at once free their place at once), so completions,
// deadlines and cancellations are seen between fills.
func (l *loop) fill(now int64) {
	l.limited, l.more = false, false
	if now < l.pause || len(l.jobs) == 0 {
		return
	}
	l.next = (l.next + 1) % len(l.jobs)
	started := 0
	for busy := true; busy; {
		if started >= int(l.share) {
			l.more = true
			return
		}
		busy = false
		for i := range l.jobs {
			j := l.jobs[(l.next+i)%len(l.jobs)]
			if j.ended.Load() {
				continue
			}
			n, more := l.issue(j, now)
			started += n
			if n > 0 && more {
				busy = true
			}
			if now < l.pause {
				return
			}
		}
	}
}

// issue starts up to one batch of j's probes; more says another batch may
// follow at once.
func (l *loop) issue(j *job, now int64) (n int, more bool) {
	want := min(int64(len(l.batch)), l.share-l.inFlight)
	if want <= 0 {
		return 0, false
	}
	k := reserve(&l.e.inFlight, l.e.budget, want)
	kj := reserve(&j.inFlight, int64(j.conc), k)
	l.e.inFlight.Add(kj - k)
	k = kj
	if k > 0 && j.limiter != nil {
		got := j.limiter.take(k)
		if got < k {
			l.limited = true
		}
		l.release(j, k-got)
		k = got
	}
	if k > 0 && l.e.limiter != nil {
		got := l.e.limiter.take(k)
		if got < k {
			l.limited = true
		}
		if j.limiter != nil {
			j.limiter.give(k - got)
		}
		l.release(j, k-got)
		k = got
	}
	if k <= 0 {
		return 0, false
	}
	got := int64(j.next(l.batch[:k]))
	if got < k {
		if j.limiter != nil {
			j.limiter.give(k - got)
		}
		if l.e.limiter != nil {
			l.e.limiter.give(k - got)
		}
		l.release(j, k-got)
	}
	l.inFlight += got
	j.reserved(0) // record the peak
	for i := range got {
		if !l.connect(j, l.batch[i], now) {
			// A local shortage: put back what is left of the batch.
			for _, pr := range l.batch[i+1 : got] {
				j.again(pr)
				l.done(j)
			}
			return int(i), false
		}
	}
	return int(got), got == k
}

// release gives back n reserved attempts that were not started.
func (l *loop) release(j *job, n int64) {
	if n > 0 {
		l.e.inFlight.Add(-n)
		j.inFlight.Add(-n)
	}
}

// done ends one attempt in flight.
func (l *loop) done(j *job) {
	l.inFlight--
	l.release(j, 1)
}

// connect starts one attempt; false means a local shortage stopped it.
func (l *loop) connect(j *job, pr probe, now int64) bool {
	family := syscall.AF_INET6
	if pr.h.addr.Is4() {
		family = syscall.AF_INET
	}
	fd := l.idleSocket(family)
	if fd < 0 {
		var err error
		fd, err = syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
		if err != nil {
			l.shortage(j, pr, now)
			return false
		}
	}
	var sa syscall.Sockaddr
	if family == syscall.AF_INET {
		l.sa4.Port, l.sa4.Addr = int(pr.port), pr.h.addr.As4()
		sa = &l.sa4
	} else {
		l.sa6.Port, l.sa6.Addr = int(pr.port), pr.h.addr.As16()
		sa = &l.sa6
	}
	j.attempts.Add(1)
	l.e.attempts.Add(1)
	start := l.now()
	err := syscall.Connect(fd, sa)
	if err == syscall.EINPROGRESS && pr.h.answersAtOnce() {
		// A host on this machine answers within the connect call itself.
		// Asking again reads the verdict (and, when refused, makes the
		// socket new again, for the next probe); EALREADY means still
		// waiting, as anywhere else.
		err = syscall.Connect(fd, sa)
		pr.h.atOnce(err != syscall.EALREADY)
		switch err {
		case syscall.EALREADY:
			err = syscall.EINPROGRESS
		case syscall.ECONNREFUSED:
			l.putIdle(family, fd)
			l.settle(j, pr, outClosed, start, l.now())
			return true
		}
	}
	if err == syscall.EINPROGRESS || err == syscall.EINTR {
		si := l.alloc()
		s := &l.slots[si]
		*s = slot{fd: int32(fd), j: j, pr: pr, start: start, deadline: now + int64(j.timeout(pr))}
		ev := syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(fd), Pad: si}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			l.freeSlot(si)
			syscall.Close(fd)
			l.shortage(j, pr, now)
			return false
		}
		l.heapPush(si)
		l.backoff = 0
		return true
	}
	var errno syscall.Errno
	if err != nil {
		errno = err.(syscall.Errno)
	}
	o := l.verdict(fd, pr, errno)
	syscall.Close(fd)
	if o == outLocal {
		l.shortage(j, pr, now)
		return false
	}
	l.settle(j, pr, o, start, l.now())
	return true
}

// idleSocket is a socket of the family whose connect was refused, ready to
// connect again (refused, the kernel reset it), or -1: reusing one saves
// the kernel a socket's making and unmaking, most of a refused probe's cost.
func (l *loop) idleSocket(family int) int {
	i := 0
	if family == syscall.AF_INET6 {
		i = 1
	}
	fd := l.idle[i]
	l.idle[i] = -1
	return fd
}

func (l *loop) putIdle(family, fd int) {
	i := 0
	if family == syscall.AF_INET6 {
		i = 1
	}
	if l.idle[i] >= 0 {
		syscall.Close(l.idle[i])
	}
	l.idle[i] = fd
}

// shortage puts a probe back after a local shortage (no fd, no local port,
// no buffer) and pauses new attempts, for longer while it lasts.
func (l *loop) shortage(j *job, pr probe, now int64) {
	j.localErrs.Add(1)
	j.again(pr)
	l.done(j)
	l.backoff = min(max(2*l.backoff, int64(time.Millisecond)), int64(time.Second))
	l.pause = now + l.backoff
}

// verdict classifies a finished attempt. A connection to itself is not an
// open port: see selfConnect.
func (l *loop) verdict(fd int, pr probe, errno syscall.Errno) outcome {
	o := classifyErrno(errno)
	if errno == syscall.ECONNRESET { // established, then reset before we looked
		o = outOpen
	}
	if o == outOpen {
		if selfConnect(fd, pr) {
			return outClosed
		}
		// Close with RST: no TIME_WAIT here or there.
		syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	}
	return o
}

// selfConnect says whether a connection went to its own source port: when
// the target port lies in the local ephemeral range and the target address
// is this host's, the kernel may choose the target port as source port, and
// the SYN meets itself (a simultaneous open). It is not a listener, so the
// port is closed. Go's dialer retries these; a scan need not.
func selfConnect(fd int, pr probe) bool {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return false
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return a.Port == int(pr.port) && pr.h.addr.Is4() && a.Addr == pr.h.addr.As4()
	case *syscall.SockaddrInet6:
		return a.Port == int(pr.port) && a.Addr == pr.h.addr.As16()
	}
	return false
}

// complete handles epoll's word that an attempt finished.
func (l *loop) complete(si int32, now int64) {
	s := &l.slots[si]
	j, pr, fd := s.j, s.pr, int(s.fd)
	errno, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	o := outError
	if err == nil {
		o = l.verdict(fd, pr, syscall.Errno(errno))
	}
	start := s.start
	l.heapRemove(s.hi)
	l.freeSlot(si)
	syscall.Close(fd)
	if o == outLocal {
		l.shortage(j, pr, now)
		return
	}
	l.settle(j, pr, o, start, now)
}

// expire ends the attempts whose deadline passed.
func (l *loop) expire(now int64) {
	for len(l.heap) > 0 {
		si := l.heap[0]
		s := &l.slots[si]
		if s.deadline > now {
			return
		}
		j, pr, start := s.j, s.pr, s.start
		l.heapRemove(0)
		l.freeSlot(si)
		syscall.Close(int(s.fd))
		l.settle(j, pr, outTimeout, start, now)
	}
}

// settle passes an attempt's outcome to its job, queues a retry when one is
// due, and ends the attempt.
func (l *loop) settle(j *job, pr probe, o outcome, start, now int64) {
	if !j.ended.Load() {
		rtt := time.Duration(now - start)
		if j.settle(pr, o, rtt, l.epoch.Add(time.Duration(now))) {
			if o == outTimeout {
				pr.attempt++
			}
			j.again(pr)
		}
	}
	l.done(j)
}

// sweep closes the sockets of jobs that ended (all of them, when the engine
// stops), without a verdict.
func (l *loop) sweep(all bool) {
	for i := 0; i < len(l.heap); {
		si := l.heap[i]
		s := &l.slots[si]
		if !all && !s.j.ended.Load() {
			i++
			continue
		}
		j := s.j
		l.heapRemove(i)
		l.freeSlot(si)
		syscall.Close(int(s.fd))
		l.done(j)
	}
}

func (l *loop) alloc() int32 {
	if n := len(l.free); n > 0 {
		si := l.free[n-1]
		l.free = l.free[:n-1]
		return si
	}
	l.slots = append(l.slots, slot{})
	return int32(len(l.slots) - 1)
}

func (l *loop) freeSlot(si int32) {
	l.slots[si].j = nil
	l.free = append(l.free, si)
}

// The deadline heap: a binary min-heap of slot indexes; each slot knows its
// place (hi), so an attempt that finished early leaves it in O(log n).

func (l *loop) heapPush(si int32) {
	l.heap = append(l.heap, si)
	l.slots[si].hi = len(l.heap) - 1
	l.up(len(l.heap) - 1)
}

func (l *loop) heapRemove(i int) {
	last := len(l.heap) - 1
	if i != last {
		l.swap(i, last)
	}
	l.heap = l.heap[:last]
	if i < last {
		l.down(i)
		l.up(i)
	}
}

func (l *loop) less(a, b int) bool {
	return l.slots[l.heap[a]].deadline < l.slots[l.heap[b]].deadline
}

func (l *loop) swap(a, b int) {
	l.heap[a], l.heap[b] = l.heap[b], l.heap[a]
	l.slots[l.heap[a]].hi = a
	l.slots[l.heap[b]].hi = b
}

func (l *loop) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !l.less(i, p) {
			return
		}
		l.swap(i, p)
		i = p
	}
}

func (l *loop) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(l.heap) {
			return
		}
		if c+1 < len(l.heap) && l.less(c+1, c) {
			c++
		}
		if !l.less(c, i) {
			return
		}
		l.swap(i, c)
		i = c
	}
}
