package main

import (
	"math"
	"net/netip"
	"strings"
	"testing"
)

func iv(a, b string) Interval {
	return Interval{netip.MustParseAddr(a), netip.MustParseAddr(b)}
}

func collect(i Interval, limit int) []string {
	var out []string
	i.Each(func(a netip.Addr) bool {
		out = append(out, a.String())
		return len(out) < limit
	})
	return out
}

func TestIntervalEachAtTheEdges(t *testing.T) {
	cases := []struct {
		iv   Interval
		want string
		size uint64
	}{
		{iv("255.255.255.253", "255.255.255.255"), "255.255.255.253 255.255.255.254 255.255.255.255", 3},
		{iv("0.0.0.0", "0.0.0.1"), "0.0.0.0 0.0.0.1", 2},
		{iv("10.0.0.255", "10.0.1.1"), "10.0.0.255 10.0.1.0 10.0.1.1", 3},
		{iv("::1", "::1"), "::1", 1},
		{iv("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2},
		{iv("2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::1"), "2001:db8::ffff:ffff:ffff:ffff 2001:db8:0:1:: 2001:db8:0:1::1", 3},
	}
	for _, c := range cases {
		if got := strings.Join(collect(c.iv, 100), " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.iv, got, c.want)
		}
		if got := c.iv.Size(); got != c.size {
			t.Errorf("%s: size %d, want %d", c.iv, got, c.size)
		}
	}
}

// A /8 and an IPv6 /64 are walked lazily: taking the first few addresses
// costs nothing, and the sizes are computed, not counted.
func TestIntervalHugeIsLazy(t *testing.T) {
	eight := iv("10.0.0.0", "10.255.255.255")
	allocs := testing.AllocsPerRun(10, func() {
		n := 0
		eight.Each(func(netip.Addr) bool { n++; return n < 1000 })
	})
	if allocs > 2 {
		t.Fatalf("walking 1000 addresses of a /8 allocated %v times; want no per-address allocation", allocs)
	}
	if eight.Size() != 1<<24 {
		t.Fatalf("/8 size %d", eight.Size())
	}
	if got := collect(iv("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"), 2); got[1] != "2001:db8::1" {
		t.Fatalf("v6 /64 starts %v", got)
	}
	if s := iv("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff").Size(); s != math.MaxUint64 {
		t.Fatalf("a /64 holds 2^64 addresses: saturated size want MaxUint64, got %d", s)
	}
	if s := iv("2001:db8::", "2001:db8::ffff:ffff:ffff:fffe").Size(); s != math.MaxUint64 {
		t.Fatalf("2^64-1 addresses: got %d", s)
	}
	if s := iv("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").Size(); s != math.MaxUint64 {
		t.Fatalf("all of IPv6: got %d", s)
	}
}

func TestValidateIntervals(t *testing.T) {
	bad := map[string][]Interval{
		"after last":        {iv("10.0.0.9", "10.0.0.1")},
		"different address": {iv("10.0.0.1", "::1")},
		"overlap":           {iv("10.0.0.0", "10.0.0.10"), iv("10.0.0.10", "10.0.0.20")},
		"IPv4-mapped":       {iv("::ffff:10.0.0.1", "::ffff:10.0.0.2")},
		"zone":              {iv("fe80::1%eth0", "fe80::1%eth0")},
		"no address":        nil,
	}
	for want, ivs := range bad {
		err := validateIntervals(ivs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one saying %q", ivs, err, want)
		}
	}
	good := []Interval{iv("::1", "::2"), iv("10.0.0.11", "10.0.0.20"), iv("10.0.0.0", "10.0.0.10"), iv("0.0.0.3", "0.0.0.3")}
	if err := validateIntervals(good); err != nil {
		t.Fatal(err)
	}
}

func TestValidatePorts(t *testing.T) {
	bad := map[string][]PortRange{
		"outside 1..65535": {{0, 10}},
		"reversed":         {{10, 5}},
		"overlaps":         {{1, 10}, {10, 20}},
		"before":           {{20, 30}, {1, 2}},
		"no port":          nil,
	}
	for want, prs := range bad {
		if err := validatePorts(prs); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one saying %q", prs, err, want)
		}
	}
	if err := validatePorts([]PortRange{{1, 1}, {2, 65535}}); err != nil {
		t.Fatal(err)
	}
}

func TestTotals(t *testing.T) {
	h, p, err := totals([]Interval{iv("10.0.0.0", "10.0.0.255"), iv("::1", "::1")}, []PortRange{{22, 22}, {8000, 8099}})
	if err != nil || h != 257 || p != 257*101 {
		t.Fatalf("got %d hosts %d probes %v", h, p, err)
	}
	if _, _, err := totals([]Interval{iv("2001:db8::", "2001:db8::ffff:ffff:ffff")}, []PortRange{{1, 65535}}); err == nil {
		t.Fatal("2^48 hosts x 65535 ports fits no int64; want an error")
	}
	if _, _, err := totals([]Interval{iv("::", "::ffff:ffff:ffff:ffff:ffff")}, []PortRange{{1, 1}}); err == nil {
		t.Fatal("2^80 hosts: want an error")
	}
}
