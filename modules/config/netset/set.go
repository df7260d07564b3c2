package netset

import (
	"math/big"
	"net/netip"
	"slices"
	"strings"
)

// Set is a set of IPv4 and IPv6 addresses. The zero value is the empty
// set. A Set is a value: operations return new Sets and never change
// their operands, so Sets may be shared between goroutines freely; only
// the Add methods replace the receiver's contents.
type Set struct {
	v4, v6 spans
}

// Interval is an inclusive range of addresses of one family, First <= Last.
type Interval struct {
	First netip.Addr `json:"first"`
	Last  netip.Addr `json:"last"`
}

// String writes the interval the way an operator would type it: a single
// address, a CIDR when the interval is exactly one prefix, else first-last.
// ParseTarget reads every form back.
func (iv Interval) String() string {
	if iv.First == iv.Last {
		return iv.First.String()
	}
	s := span{u128From(iv.First), u128From(iv.Last)}
	if bits, ok := exactPrefix(s, iv.First.BitLen()); ok {
		return netip.PrefixFrom(iv.First, bits).String()
	}
	return iv.First.String() + "-" + iv.Last.String()
}

// exactPrefix reports whether s is exactly one CIDR block and its length.
func exactPrefix(s span, famBits int) (int, bool) {
	width := s.last.sub(s.first)
	k := width.bitLen()
	if width != lowMask(k) || s.first.trailingZeros() < k {
		return 0, false
	}
	return famBits - k, true
}

// FromPrefix returns the set of addresses in p. Host bits are masked off:
// strictness about them belongs to ParseCIDR, which sees operator input.
// An IPv4-mapped prefix of length 96 or more becomes its IPv4 prefix.
func FromPrefix(p netip.Prefix) (Set, error) {
	var s Set
	is4, sp, err := prefixSpan(p)
	if err != nil {
		return s, err
	}
	*s.family(is4) = spans{sp}
	return s, nil
}

// FromPrefixes returns the union of the prefixes, sorting and merging
// once: building from many prefixes costs O(n log n), not O(n^2).
func FromPrefixes(ps ...netip.Prefix) (Set, error) {
	n4 := 0
	for _, p := range ps {
		if p.Addr().Unmap().Is4() {
			n4++
		}
	}
	v4, v6 := make([]span, 0, n4), make([]span, 0, len(ps)-n4)
	for _, p := range ps {
		is4, sp, err := prefixSpan(p)
		if err != nil {
			return Set{}, err
		}
		if is4 {
			v4 = append(v4, sp)
		} else {
			v6 = append(v6, sp)
		}
	}
	return Set{v4: normalize(v4), v6: normalize(v6)}, nil
}

// FromRange returns the addresses from first to last inclusive. Both ends
// must be of one family (after IPv4-mapped addresses become IPv4) and
// first must not come after last.
func FromRange(first, last netip.Addr) (Set, error) {
	var s Set
	is4, sp, err := rangeSpan(first, last, first.String()+"-"+last.String())
	if err != nil {
		return s, err
	}
	*s.family(is4) = spans{sp}
	return s, nil
}

// AddPrefix adds p to s; see FromPrefix. Each call costs O(len(s)), so
// build large sets with FromPrefixes or Union instead.
func (s *Set) AddPrefix(p netip.Prefix) error {
	o, err := FromPrefix(p)
	if err == nil {
		*s = s.Union(o)
	}
	return err
}

// AddRange adds first..last to s; see FromRange.
func (s *Set) AddRange(first, last netip.Addr) error {
	o, err := FromRange(first, last)
	if err == nil {
		*s = s.Union(o)
	}
	return err
}

func (s *Set) family(is4 bool) *spans {
	if is4 {
		return &s.v4
	}
	return &s.v6
}

// Union returns every address in s or any of others. With several
// operands it merges them in one sort rather than pair by pair.
func (s Set) Union(others ...Set) Set {
	if len(others) == 1 {
		return Set{v4: union(s.v4, others[0].v4), v6: union(s.v6, others[0].v6)}
	}
	v4, v6 := slices.Clone(s.v4), slices.Clone(s.v6)
	for _, o := range others {
		v4 = append(v4, o.v4...)
		v6 = append(v6, o.v6...)
	}
	return Set{v4: normalize(v4), v6: normalize(v6)}
}

// Intersect returns the addresses in both s and o.
func (s Set) Intersect(o Set) Set {
	return Set{v4: intersect(s.v4, o.v4), v6: intersect(s.v6, o.v6)}
}

// Subtract returns the addresses of s that are not in o: how exclusions
// are applied to a scope.
func (s Set) Subtract(o Set) Set {
	return Set{v4: subtract(s.v4, o.v4), v6: subtract(s.v6, o.v6)}
}

// Contains reports whether a is in s. An IPv4-mapped address is looked up
// as IPv4 and a zone is ignored, since neither changes which host a is.
func (s Set) Contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("").Unmap()
	return s.family(a.Is4()).contains(u128From(a))
}

// ContainsSet reports whether every address of o is in s.
func (s Set) ContainsSet(o Set) bool {
	return s.v4.containsAll(o.v4) && s.v6.containsAll(o.v6)
}

// Count returns the exact number of addresses in s.
func (s Set) Count() *big.Int {
	c := s.CountV6()
	return c.Add(c, new(big.Int).SetUint64(s.CountV4()))
}

// CountV4 returns the number of IPv4 addresses in s; at most 2^32.
func (s Set) CountV4() uint64 {
	w := s.v4.widthSum()
	return w.lo + uint64(len(s.v4))
}

// CountV6 returns the number of IPv6 addresses in s; up to 2^128, which
// is why it is a big.Int.
func (s Set) CountV6() *big.Int {
	c := s.v6.widthSum().big()
	return c.Add(c, big.NewInt(int64(len(s.v6))))
}

// IsEmpty reports whether s holds no address.
func (s Set) IsEmpty() bool { return len(s.v4) == 0 && len(s.v6) == 0 }

// Equal reports whether s and o hold the same addresses. Sets are kept
// in one canonical form, so this compares intervals, not addresses.
func (s Set) Equal(o Set) bool {
	return slices.Equal(s.v4, o.v4) && slices.Equal(s.v6, o.v6)
}

// Intervals returns the intervals of s, IPv4 first, each family in
// ascending order. The result is never nil, so an empty set marshals as [].
func (s Set) Intervals() []Interval {
	out := make([]Interval, 0, len(s.v4)+len(s.v6))
	for _, sp := range s.v4 {
		out = append(out, Interval{sp.first.addr4(), sp.last.addr4()})
	}
	for _, sp := range s.v6 {
		out = append(out, Interval{sp.first.addr6(), sp.last.addr6()})
	}
	return out
}

// String lists the intervals separated by commas, each written as
// Interval.String does; Parse reads the result back to an equal Set. The
// empty set is "".
func (s Set) String() string {
	var b strings.Builder
	for i, iv := range s.Intervals() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(iv.String())
	}
	return b.String()
}
