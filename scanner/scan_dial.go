package main

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// dialEngine is the portable engine: a goroutine per attempt in flight,
// each with Go's net.Dialer. It is the engine on every platform but Linux,
// and the reference the epoll engine is tested against.
type dialEngine struct {
	limiter  *tokenBucket  // the engine's rate; nil: none
	slots    chan struct{} // the engine's concurrency, shared by its jobs
	attempts atomic.Uint64
}

func newDialEngine(l Limits) *dialEngine {
	e := &dialEngine{slots: make(chan struct{}, engineBudget(l))}
	if l.Rate > 0 {
		e.limiter = newTokenBucket(l.Rate)
	}
	return e
}

func (e *dialEngine) Attempts() uint64 { return e.attempts.Load() }
func (e *dialEngine) Close()           {}

func (e *dialEngine) Scan(ctx context.Context, p ScanParams, progress *Progress, onOpen func(Open)) (ScanStats, error) {
	j := newJob(p, progress, onOpen, cap(e.slots))
	var wg sync.WaitGroup
	for range j.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf [1]probe
			for ctx.Err() == nil && j.next(buf[:]) == 1 {
				e.probe(ctx, j, buf[0])
			}
		}()
	}
	wg.Wait()
	return j.result(ctx)
}

// probe tries one port until its outcome is final or the scan stops.
func (e *dialEngine) probe(ctx context.Context, j *job, pr probe) {
	shortage := 10 * time.Millisecond
	for {
		if j.limiter != nil && j.limiter.Wait(ctx) != nil || e.limiter != nil && e.limiter.Wait(ctx) != nil {
			return
		}
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		j.reserved(1)
		j.attempts.Add(1)
		e.attempts.Add(1)
		d := net.Dialer{Timeout: j.timeout(pr)}
		start := time.Now()
		c, err := d.DialContext(ctx, "tcp", pr.addrPort().String())
		rtt := time.Since(start)
		o := classifyDial(ctx, err)
		if o == outOpen {
			conn := c.(*net.TCPConn)
			if conn.LocalAddr().String() == conn.RemoteAddr().String() {
				o = outClosed // connected to itself: see selfConnect
			}
			conn.SetLinger(0) // close with RST: no TIME_WAIT here or there
			conn.Close()
		}
		again := j.settle(pr, o, rtt, start.Add(rtt))
		j.reserved(-1)
		<-e.slots
		switch {
		case !again:
			return
		case o == outTimeout:
			pr.attempt++
		case o == outLocal:
			if sleepCtx(ctx, shortage) != nil {
				return
			}
			shortage = min(2*shortage, time.Second)
		}
	}
}

func classifyDial(ctx context.Context, err error) outcome {
	if err == nil {
		return outOpen
	}
	if ctx.Err() != nil || deadlinePassed(ctx) {
		return outCancelled
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return classifyErrno(errno)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outTimeout
	}
	return outError
}
