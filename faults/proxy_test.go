package faults

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy is a TCP relay the test puts in a path to break it on demand: passing, it copies
// bytes both ways; resetting, it answers every new connection with a TCP reset and resets the
// ones it holds. Placed between nginx and an ingest node it makes nginx answer 502; placed in
// front of nginx it resets the scanners' own connections.
type faultProxy struct {
	ln       net.Listener
	target   string
	resetNow atomic.Bool
	mu       sync.Mutex
	open     map[net.Conn]struct{}
	resets   atomic.Int64
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, open: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	go p.serve()
	return p
}

func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

// Reset switches resetting on or off; switching it on resets what is open.
func (p *faultProxy) Reset(on bool) {
	p.resetNow.Store(on)
	if on {
		p.closeAll()
	}
}

func (p *faultProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.open {
		rst(c)
	}
}

// rst closes a connection with SO_LINGER 0, so the peer gets a reset rather than an end.
func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (p *faultProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.open[c] = struct{}{}
	} else {
		delete(p.open, c)
	}
}

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.resetNow.Load() {
			p.resets.Add(1)
			rst(c)
			continue
		}
		go p.relay(c)
	}
}

func (p *faultProxy) relay(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		rst(c)
		return
	}
	p.track(c, true)
	p.track(up, true)
	defer func() { p.track(c, false); p.track(up, false); c.Close(); up.Close() }()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}
