package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listenN opens n real TCP listeners on host (random ports) that accept
// connections and hold them until the peer goes away, so the scanner is
// always the side that closes. It returns their ports, sorted.
func listenN(t testing.TB, host string, n int) []uint16 {
	t.Helper()
	var ports []uint16
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatalf("listen on %s: %v", host, err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { c.Read(make([]byte, 1)); c.Close() }()
			}
		}()
		ports = append(ports, uint16(ln.Addr().(*net.TCPAddr).Port))
	}
	slices.Sort(ports)
	return ports
}

// blackhole opens a listener on ip:port (port 0: any) that never accepts,
// with a backlog of 0, and fills its accept queue; the kernel then drops
// every further SYN to it, so a connect there times out, as at a firewall
// that drops. It is a raw socket so its backlog can be 0.
func blackhole(t testing.TB, ip string, port uint16) uint16 {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: netip.MustParseAddr(ip).As4(), Port: int(port)}); err != nil {
		t.Fatalf("bind %s:%d: %v", ip, port, err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port = uint16(sa.(*syscall.SockaddrInet4).Port)
	addr := net.JoinHostPort(ip, strconv.Itoa(int(port)))
	// Fill the queue: connections complete until it is full, then one
	// times out, which proves SYNs are being dropped.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 50*time.Millisecond)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			break
		}
		if err != nil {
			t.Skipf("a full accept queue does not drop SYNs here (%v)", err)
		}
		t.Cleanup(func() { c.Close() })
		if i > 16 {
			t.Skip("cannot fill a listener's accept queue here")
		}
	}
	return port
}

func portRanges(ports ...uint16) []PortRange {
	var r []PortRange
	for _, p := range ports {
		r = append(r, PortRange{p, p})
	}
	return r
}

func one(a string) []Interval {
	ad := netip.MustParseAddr(a)
	return []Interval{{ad, ad}}
}

type collector struct {
	mu   sync.Mutex
	open []Open
}

func (c *collector) add(o Open) { c.mu.Lock(); c.open = append(c.open, o); c.mu.Unlock() }

func (c *collector) ports(addr string) []uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []uint16
	for _, o := range c.open {
		if o.Addr.String() == addr {
			ps = append(ps, o.Port)
		}
	}
	slices.Sort(ps)
	return ps
}

func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// scanRange scans ports lo..hi of addr and returns what it found.
func scanRange(t *testing.T, addr string, lo, hi uint16, conc int) (*collector, ScanStats) {
	t.Helper()
	c := &collector{}
	st, err := Scan(context.Background(), ScanParams{
		Targets: one(addr), Ports: []PortRange{{lo, hi}},
		Concurrency: conc, Timeout: time.Second, Retries: 1,
	}, nil, c.add)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

// wantOpen is ports, restricted to lo..hi, plus anything else the machine
// itself has listening there (found by the kernel's own table, not by us).
func openInRange(ports []uint16, lo, hi uint16) []uint16 {
	var r []uint16
	for _, p := range ports {
		if p >= lo && p <= hi {
			r = append(r, p)
		}
	}
	return r
}

func TestScanFindsExactlyTheOpenPorts(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			if host == "::1" && !hasIPv6Loopback() {
				t.Skip("no IPv6 loopback on this machine")
			}
			ports := listenN(t, host, 5)
			// Close one listener's neighbour range: scan a window around
			// the listeners that surely holds closed ports too.
			lo, hi := ports[0]-min(ports[0]-1, 50), ports[len(ports)-1]+min(65535-ports[len(ports)-1], 50)
			// Other programs on the machine open and close listeners meanwhile: a port listening
			// before and after the scan must be found, and a port found must have been listening
			// before or after it.
			before := listeningPorts(t, host, lo, hi)
			c, st := scanRange(t, host, lo, hi, 64)
			after := listeningPorts(t, host, lo, hi)
			for _, p := range ports {
				if !slices.Contains(after, p) {
					t.Fatalf("kernel table lacks our listener %d", p)
				}
			}
			got := c.ports(host)
			for _, p := range before {
				if slices.Contains(after, p) && !slices.Contains(got, p) {
					t.Fatalf("open ports on %s: got %v, missing %d (listening before and after the scan: %v, %v)", host, got, p, before, after)
				}
			}
			for _, p := range got {
				if !slices.Contains(before, p) && !slices.Contains(after, p) {
					t.Fatalf("open ports on %s: got %v, but %d was not listening (before %v, after %v)", host, got, p, before, after)
				}
			}
			total := uint64(hi) - uint64(lo) + 1
			if st.Open+st.Closed != total || st.Filtered != 0 {
				t.Fatalf("stats %+v: want %d probes all open or closed", st, total)
			}
			for _, o := range c.open {
				if o.RTT <= 0 || o.ObservedAt.IsZero() || o.ObservedAt.Location() != time.UTC {
					t.Fatalf("bad result %+v", o)
				}
			}
		})
	}
}

// listeningPorts reads the kernel's socket tables for listeners on host in
// lo..hi (including the wildcard address), so a test knows what is really
// open on this machine without trusting the scanner.
func listeningPorts(t testing.TB, host string, lo, hi uint16) []uint16 {
	var ps []uint16
	for _, s := range procSockets(t) {
		if s.state != 0x0A || s.local.Port() < lo || s.local.Port() > hi {
			continue
		}
		la := s.local.Addr()
		if la.String() == host || la.IsUnspecified() && la.Is4() == netip.MustParseAddr(host).Is4() {
			ps = append(ps, s.local.Port())
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

type procSocket struct {
	local, remote netip.AddrPort
	state         int
}

// procSockets parses /proc/net/tcp and /proc/net/tcp6.
func procSockets(t testing.TB) []procSocket {
	t.Helper()
	var out []procSocket
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			if name == "/proc/net/tcp6" {
				continue
			}
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan()
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 4 {
				continue
			}
			st, _ := strconv.ParseUint(fs[3], 16, 8)
			out = append(out, procSocket{parseProcAddr(t, fs[1]), parseProcAddr(t, fs[2]), int(st)})
		}
		f.Close()
	}
	return out
}

// parseProcAddr reads "0100007F:1F90": the address as 32-bit words in host
// (little-endian) order, then the port in hex.
func parseProcAddr(t testing.TB, s string) netip.AddrPort {
	a, p, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(p, 16, 16)
	var b []byte
	for i := 0; i+8 <= len(a); i += 8 {
		w, err := strconv.ParseUint(a[i:i+8], 16, 32)
		if err != nil {
			t.Fatalf("bad /proc address %q", s)
		}
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port))
}

func TestScanSeveralHostsAndProgress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("cannot listen on 127.0.0.2:", err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	var prog Progress
	c := &collector{}
	lo, hi := port-min(port-1, 20), port+min(65535-port, 20)
	targets := []Interval{iv("127.0.0.1", "127.0.0.3")}
	_, err = Scan(context.Background(), ScanParams{Targets: targets, Ports: []PortRange{{lo, hi}}, Concurrency: 16, Timeout: time.Second}, &prog, c.add)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ports("127.0.0.2"); !slices.Contains(got, port) {
		t.Fatalf("127.0.0.2: found %v, want %d among them", got, port)
	}
	for _, h := range []string{"127.0.0.1", "127.0.0.3"} {
		if got, want := c.ports(h), listeningPorts(t, h, lo, hi); !slices.Equal(got, want) {
			t.Fatalf("%s: found %v, want %v", h, got, want)
		}
	}
	if prog.HostsDone.Load() != 3 || prog.PortsProbed.Load() != 3*(uint64(hi-lo)+1) {
		t.Fatalf("progress: %d hosts, %d ports", prog.HostsDone.Load(), prog.PortsProbed.Load())
	}
}

// Every probe socket is closed with a reset, so a scan leaves no TIME_WAIT
// socket on either side. A plain close (the control) does leave one, which
// shows the check can see them.
func TestScanLeavesNoTimeWait(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		if host == "::1" && !hasIPv6Loopback() {
			continue
		}
		ports := listenN(t, host, 8)
		for round := 0; round < 3; round++ {
			c := &collector{}
			_, err := Scan(context.Background(), ScanParams{Targets: one(host), Ports: portRanges(ports...), Concurrency: 8, Timeout: time.Second}, nil, c.add)
			if err != nil || !slices.Equal(c.ports(host), ports) {
				t.Fatalf("%s: found %v, want %v (%v)", host, c.ports(host), ports, err)
			}
		}
		if tw := timeWaits(t, host, ports); len(tw) > 0 {
			t.Fatalf("%s: TIME_WAIT sockets after the scan: %v", host, tw)
		}
	}
	// Several plain closes, so a busy machine (where one socket's close can race its peer's)
	// still shows the check at least one TIME_WAIT.
	control := listenN(t, "127.0.0.1", 1)
	for range 10 {
		conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(control[0]))))
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	for i := 0; len(timeWaits(t, "127.0.0.1", control)) == 0; i++ {
		if i > 1500 {
			t.Fatal("a plain close left no TIME_WAIT socket: the check cannot see them")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// timeWaits lists the TIME_WAIT sockets to or from host's ports.
func timeWaits(t testing.TB, host string, ports []uint16) []procSocket {
	addr := netip.MustParseAddr(host)
	var tw []procSocket
	for _, s := range procSockets(t) {
		if s.state != 0x06 {
			continue
		}
		for _, ap := range []netip.AddrPort{s.local, s.remote} {
			if ap.Addr() == addr && slices.Contains(ports, ap.Port()) {
				tw = append(tw, s)
			}
		}
	}
	return tw
}

// A port whose SYNs are dropped is tried 1 + retries times, then reported
// filtered; a refused port is tried once.
func TestScanRetriesTimedOutPortsOnly(t *testing.T) {
	bh := blackhole(t, "127.0.0.1", 0)
	_, st := scanWith(t, ScanParams{Targets: one("127.0.0.1"), Ports: portRanges(bh), Concurrency: 2, Timeout: 100 * time.Millisecond, Retries: 2})
	if st.Attempts != 3 || st.Timeouts != 3 || st.Filtered != 1 || st.Open != 0 {
		t.Fatalf("blackholed port: %+v; want 3 attempts, all timed out, filtered", st)
	}
	closed := closedPort(t)
	_, st = scanWith(t, ScanParams{Targets: one("127.0.0.1"), Ports: portRanges(closed), Concurrency: 2, Timeout: time.Second, Retries: 2})
	if st.Attempts != 1 || st.Closed != 1 {
		t.Fatalf("refused port: %+v; want 1 attempt, closed", st)
	}
}

func closedPort(t testing.TB) uint16 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return p
}

func scanWith(t testing.TB, p ScanParams) (*collector, ScanStats) {
	t.Helper()
	c := &collector{}
	st, err := Scan(context.Background(), p, nil, c.add)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

// The kernel's own table shows at most Concurrency connection attempts
// pending at once. Sixteen loopback addresses each hold a listener that
// drops SYNs, so every attempt hangs until its timeout.
func TestScanConcurrencyBound(t *testing.T) {
	port := blackhole(t, "127.0.0.1", 0)
	for i := 2; i <= 16; i++ {
		blackhole(t, fmt.Sprintf("127.0.0.%d", i), port)
	}
	const conc = 4
	stop := make(chan struct{})
	maxSeen := make(chan int)
	go func() {
		m := 0
		for {
			select {
			case <-stop:
				maxSeen <- m
				return
			case <-time.After(5 * time.Millisecond):
			}
			n := 0
			for _, s := range procSockets(t) {
				if s.state == 0x02 && s.remote.Port() == port { // SYN_SENT
					n++
				}
			}
			m = max(m, n)
		}
	}()
	_, st := scanWith(t, ScanParams{Targets: []Interval{iv("127.0.0.1", "127.0.0.16")}, Ports: portRanges(port), Concurrency: conc, Timeout: 150 * time.Millisecond})
	close(stop)
	seen := <-maxSeen
	// The kernel may see a few more than conc: Go closes a timed-out socket
	// a moment after its dial returned, when the runtime drops its last
	// reference. Without the bound it would see all 16.
	if st.Filtered != 16 || st.MaxInFlight > conc || seen > 2*conc {
		t.Fatalf("concurrency %d: %d attempts seen pending at once by the kernel, stats %+v", conc, seen, st)
	}
	if seen < 2 {
		t.Fatalf("never more than %d attempt pending at once: the scan is not concurrent", seen)
	}
}

// With the soft fd limit just above what is open, a scan asking for far
// more concurrency stays inside the budget and still finds every port.
func TestScanRespectsFDLimit(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	ports := listenN(t, "127.0.0.1", 4)
	ents, _ := os.ReadDir("/proc/self/fd")
	low := old
	low.Cur = uint64(len(ents) + fdHeadroom + 40)
	if low.Cur > old.Max {
		t.Skip("hard fd limit too low to test")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip("cannot lower the fd limit:", err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	lo, hi := ports[0]-min(ports[0]-1, 500), ports[len(ports)-1]+min(65535-ports[len(ports)-1], 500)
	before := listeningPorts(t, "127.0.0.1", lo, hi)
	c, st := scanWith(t, ScanParams{Targets: one("127.0.0.1"), Ports: []PortRange{{lo, hi}}, Concurrency: 5000, Timeout: time.Second})
	if st.Concurrency > 40 || st.MaxInFlight > 40 || st.LocalErrors != 0 {
		t.Fatalf("fd budget 40: ran with concurrency %d, %d in flight, %d local errors", st.Concurrency, st.MaxInFlight, st.LocalErrors)
	}
	// Other processes on this machine may open or close ports meanwhile: a
	// port listening before and after must be found, and no port found that
	// listened at neither time. (TestFDLimit256 is exact, in a namespace.)
	got, after := c.ports("127.0.0.1"), listeningPorts(t, "127.0.0.1", lo, hi)
	for _, p := range before {
		if slices.Contains(after, p) && !slices.Contains(got, p) {
			t.Fatalf("found %v, missing %d (listening before %v and after %v)", got, p, before, after)
		}
	}
	for _, p := range got {
		if !slices.Contains(before, p) && !slices.Contains(after, p) {
			t.Fatalf("found %v: %d listened neither before %v nor after %v", got, p, before, after)
		}
	}
}

// The rate limit holds end to end: n attempts at rate r cannot finish
// sooner than (n - burst) / r. (A lower bound only: it cannot flake.)
func TestScanRateLimit(t *testing.T) {
	closed := closedPort(t)
	lo := max(closed, 1000) - 600
	start := time.Now()
	_, st := scanWith(t, ScanParams{Targets: one("127.0.0.1"), Ports: []PortRange{{lo, lo + 599}}, Concurrency: 50, Rate: 1000, Timeout: time.Second})
	if el, least := time.Since(start), time.Duration(float64(st.Attempts-100)/1000*float64(time.Second)); el < least { // burst: 100
		t.Fatalf("%d attempts at 1000/s took %v, less than %v", st.Attempts, el, least)
	}
}

func TestScanCancel(t *testing.T) {
	port := blackhole(t, "127.0.0.1", 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var prog Progress
	_, err := Scan(ctx, ScanParams{Targets: []Interval{iv("127.0.0.1", "127.0.255.255")}, Ports: portRanges(port), Concurrency: 4, Timeout: 10 * time.Second}, &prog, func(Open) {})
	if err != context.Canceled || prog.PortsProbed.Load() >= 1<<16 {
		t.Fatalf("err %v, %d probed", err, prog.PortsProbed.Load())
	}
}
