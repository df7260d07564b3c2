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

// blackhole opens a listener on 127.0.0.1 that never accepts, with a
// backlog of 0, and fills its accept queue; the kernel then drops every
// further SYN to it, so a connect there times out, as at a firewall that
// drops. The listener is a raw socket so its backlog can be 0.
func blackhole(t testing.TB) uint16 {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := uint16(sa.(*syscall.SockaddrInet4).Port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Fill the queue: connections complete until it is full, then one
	// times out; that proves SYNs are being dropped.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
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
			c, st := scanRange(t, host, lo, hi, 64)
			want := listeningPorts(t, host, lo, hi)
			for _, p := range ports {
				if !slices.Contains(want, p) {
					t.Fatalf("kernel table lacks our listener %d", p)
				}
			}
			if got := c.ports(host); !slices.Equal(got, want) {
				t.Fatalf("open ports on %s: got %v, want %v", host, got, want)
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
