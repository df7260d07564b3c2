package main

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"slices"
)

// Interval is an inclusive range of addresses of one family, as the
// dispatcher sends them. It is never expanded in memory: Each walks it one
// address at a time, so an IPv4 /8 or an IPv6 /64 costs nothing until scanned.
type Interval struct {
	First, Last netip.Addr
}

// PortRange is an inclusive range of TCP ports, 1..65535.
type PortRange struct {
	First, Last uint16
}

// uint128 is an unsigned 128-bit number, enough for any IPv6 address count.
type uint128 struct{ hi, lo uint64 }

func addrUint128(a netip.Addr) uint128 {
	b := a.As16()
	var u uint128
	for i := 0; i < 8; i++ {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

// Size is how many addresses the interval holds, saturated at MaxUint64
// (only an IPv6 interval larger than 2^64 - 1 addresses saturates).
func (iv Interval) Size() uint64 {
	f, l := addrUint128(iv.First), addrUint128(iv.Last)
	lo, borrow := bits.Sub64(l.lo, f.lo, 0)
	hi, _ := bits.Sub64(l.hi, f.hi, borrow)
	if hi != 0 || lo == math.MaxUint64 {
		return math.MaxUint64
	}
	return lo + 1
}

// Each calls fn for every address of the interval in order, until fn
// returns false. It allocates nothing per address.
func (iv Interval) Each(fn func(netip.Addr) bool) {
	for a := iv.First; ; a = a.Next() {
		if !fn(a) || a == iv.Last {
			return
		}
	}
}

func (iv Interval) String() string { return iv.First.String() + "-" + iv.Last.String() }

// Size is how many ports the range holds.
func (r PortRange) Size() uint64 { return uint64(r.Last) - uint64(r.First) + 1 }

// checkAddr refuses what a job must not hold: zones (fe80::1%eth0) and
// IPv4-mapped IPv6 addresses, which would make one host look like two.
func checkAddr(a netip.Addr) error {
	if a.Zone() != "" {
		return fmt.Errorf("address %s has a zone", a)
	}
	if a.Is4In6() {
		return fmt.Errorf("address %s is IPv4-mapped IPv6; send %s", a, a.Unmap())
	}
	return nil
}

// validateIntervals checks each interval is one family and not reversed,
// and that no two intervals overlap (the dispatcher merges them; an overlap
// would scan a host twice and miscount progress).
func validateIntervals(ivs []Interval) error {
	if len(ivs) == 0 {
		return fmt.Errorf("targets: no address intervals")
	}
	for i, iv := range ivs {
		if err := checkAddr(iv.First); err != nil {
			return fmt.Errorf("targets[%d].first: %v", i, err)
		}
		if err := checkAddr(iv.Last); err != nil {
			return fmt.Errorf("targets[%d].last: %v", i, err)
		}
		if iv.First.Is4() != iv.Last.Is4() {
			return fmt.Errorf("targets[%d]: %s and %s are of different address families", i, iv.First, iv.Last)
		}
		if iv.Last.Less(iv.First) {
			return fmt.Errorf("targets[%d]: first %s is after last %s", i, iv.First, iv.Last)
		}
	}
	sorted := slices.Clone(ivs)
	slices.SortFunc(sorted, func(a, b Interval) int { return a.First.Compare(b.First) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].First.Is4() == sorted[i].First.Is4() && !sorted[i-1].Last.Less(sorted[i].First) {
			return fmt.Errorf("targets: intervals %s and %s overlap", sorted[i-1], sorted[i])
		}
	}
	return nil
}

// validatePorts checks every range is within 1..65535, not reversed, and
// that the ranges are sorted and do not overlap.
func validatePorts(prs []PortRange) error {
	if len(prs) == 0 {
		return fmt.Errorf("ports: no port ranges")
	}
	for i, r := range prs {
		if r.First == 0 {
			return fmt.Errorf("ports[%d]: port 0 is outside 1..65535", i)
		}
		if r.Last < r.First {
			return fmt.Errorf("ports[%d]: range %d-%d is reversed", i, r.First, r.Last)
		}
		if i > 0 && prs[i-1].Last >= r.First {
			return fmt.Errorf("ports[%d]: range %d-%d overlaps or is before range %d-%d; ranges must be sorted and not overlap",
				i, r.First, r.Last, prs[i-1].First, prs[i-1].Last)
		}
	}
	return nil
}

// totals is how many hosts and probes the targets and ports make, or an
// error when the probe count does not fit an int64: such a job could never
// finish, and its progress could not be reported.
func totals(ivs []Interval, prs []PortRange) (hosts, probes uint64, err error) {
	var perHost uint64
	for _, r := range prs {
		perHost += r.Size()
	}
	for _, iv := range ivs {
		n := iv.Size()
		var carry uint64
		hosts, carry = bits.Add64(hosts, n, 0)
		if carry != 0 || n == math.MaxUint64 {
			return 0, 0, fmt.Errorf("targets: more than 2^63 probes; cut the job smaller")
		}
	}
	hi, lo := bits.Mul64(hosts, perHost)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, 0, fmt.Errorf("targets: %d hosts x %d ports is more than 2^63 probes; cut the job smaller", hosts, perHost)
	}
	return hosts, lo, nil
}
