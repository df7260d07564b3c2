package netset

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The property tests compare every operation with brute force: small
// random sets are also kept as a map of their addresses. Universes sit at
// the bottom, the middle and the top of each family, so carries and the
// last address are exercised, not only the comfortable middle.

type universe struct {
	base netip.Addr
	bits int // prefix length of the universe; 1024 addresses each
}

var universes4 = []universe{
	{netip.MustParseAddr("10.0.0.0"), 22},
	{netip.MustParseAddr("0.0.0.0"), 22},
	{netip.MustParseAddr("255.255.252.0"), 22},
}

var universes6 = []universe{
	{netip.MustParseAddr("2001:db8::"), 118},
	{netip.MustParseAddr("::"), 118},
	{netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fc00"), 118},
}

type model map[netip.Addr]bool

// nth returns the address n places after the universe's base.
func (u universe) nth(n int) netip.Addr {
	x := u128From(u.base).add(u128{lo: uint64(n)})
	if u.base.Is4() {
		return x.addr4()
	}
	return x.addr6()
}

func (u universe) size() int { return 1 << (u.base.BitLen() - u.bits) }

// randomPiece returns a random prefix or range inside u, as a Set and as
// the model it must equal.
func randomPiece(rng *rand.Rand, u universe) (Set, model) {
	return piece(u, rng.IntN(2) == 0, rng.IntN(129), rng.IntN(u.size()), rng.IntN(u.size()))
}

// piece builds a prefix (around address i, longer than the universe by
// extra%room bits) or the range from address i to j, inside u.
func piece(u universe, asPrefix bool, extra, i, j int) (Set, model) {
	m := model{}
	var s Set
	var err error
	if asPrefix {
		bits := u.bits + extra%(u.base.BitLen()-u.bits+1)
		p, _ := u.nth(i).Prefix(bits)
		s, err = FromPrefix(p)
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			m[a] = true
		}
	} else {
		i, j = min(i, j), max(i, j)
		s, err = FromRange(u.nth(i), u.nth(j))
		for k := i; k <= j; k++ {
			m[u.nth(k)] = true
		}
	}
	if err != nil {
		panic(err)
	}
	return s, m
}

// randomSet unions a few pieces from one IPv4 and one IPv6 universe,
// through whichever constructor path the dice pick, so all are covered.
func randomSet(rng *rand.Rand, u4, u6 universe) (Set, model) {
	m := model{}
	var pieces []Set
	for range rng.IntN(7) {
		u := u4
		if rng.IntN(2) == 0 {
			u = u6
		}
		p, pm := randomPiece(rng, u)
		pieces = append(pieces, p)
		for a := range pm {
			m[a] = true
		}
	}
	var s Set
	switch rng.IntN(3) {
	case 0:
		s = s.Union(pieces...)
	case 1:
		for _, p := range pieces {
			s = s.Union(p)
		}
	default:
		for _, p := range pieces {
			for _, pr := range p.Prefixes() {
				if err := s.AddPrefix(pr); err != nil {
					panic(err)
				}
			}
		}
	}
	return s, m
}

// enumerate lists a set's addresses; only tests may do this, on small sets.
func enumerate(s Set) model {
	m := model{}
	for _, iv := range s.Intervals() {
		for a := iv.First; ; a = a.Next() {
			m[a] = true
			if a == iv.Last {
				break
			}
		}
	}
	return m
}

func equalModels(a, b model) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// agree fails t unless s holds exactly the addresses of m.
func agree(t *testing.T, what string, s Set, m model, u4, u6 universe) {
	t.Helper()
	checkInvariants(t, s)
	if !equalModels(enumerate(s), m) {
		t.Fatalf("%s: set %s does not match brute force (%d addresses)", what, s, len(m))
	}
	var n4 uint64
	for a := range m {
		if a.Is4() {
			n4++
		}
	}
	if s.CountV4() != n4 || s.CountV6().Uint64() != uint64(len(m))-n4 || s.Count().Uint64() != uint64(len(m)) {
		t.Fatalf("%s: counts %d/%s/%s, brute force %d/%d", what, s.CountV4(), s.CountV6(), s.Count(), n4, len(m))
	}
	for _, u := range []universe{u4, u6} {
		for i := range u.size() {
			if a := u.nth(i); s.Contains(a) != m[a] {
				t.Fatalf("%s: Contains(%s) = %v, brute force %v", what, a, !m[a], m[a])
			}
		}
	}
}

func TestOperationsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		u4, u6 := universes4[iter%3], universes6[(iter/3)%3]
		a, ma := randomSet(rng, u4, u6)
		b, mb := randomSet(rng, u4, u6)
		agree(t, "a", a, ma, u4, u6)

		union, inter, diff := model{}, model{}, model{}
		for k := range ma {
			union[k] = true
			if mb[k] {
				inter[k] = true
			} else {
				diff[k] = true
			}
		}
		for k := range mb {
			union[k] = true
		}
		agree(t, "union", a.Union(b), union, u4, u6)
		agree(t, "intersect", a.Intersect(b), inter, u4, u6)
		agree(t, "subtract", a.Subtract(b), diff, u4, u6)

		if got, want := a.ContainsSet(b), equalModels(inter, mb); got != want {
			t.Fatalf("%s.ContainsSet(%s) = %v, brute force %v", a, b, got, want)
		}
		if got, want := a.Equal(b), equalModels(ma, mb); got != want {
			t.Fatalf("%s.Equal(%s) = %v, brute force %v", a, b, got, want)
		}
		if a.IsEmpty() != (len(ma) == 0) {
			t.Fatalf("%s.IsEmpty() = %v with %d addresses", a, a.IsEmpty(), len(ma))
		}
		checkRoundTrips(t, a)
		checkPrefixes(t, a, ma)
		checkSplit(t, a, uint64(1+rng.IntN(300)))
	}
}

func checkRoundTrips(t *testing.T, s Set) {
	t.Helper()
	if !s.IsEmpty() {
		back, err := Parse(s.String())
		if err != nil || !back.Equal(s) {
			t.Fatalf("Parse(%q) = %s, %v", s.String(), back, err)
		}
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Set
	if err := json.Unmarshal(data, &back); err != nil || !back.Equal(s) {
		t.Fatalf("JSON %s came back as %s, %v", data, back, err)
	}
}

// checkPrefixes checks the cover is exact, disjoint and has no two
// sibling blocks that one shorter prefix could replace.
func checkPrefixes(t *testing.T, s Set, m model) {
	t.Helper()
	got := model{}
	ps := s.Prefixes()
	for i, p := range ps {
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			if got[a] {
				t.Fatalf("Prefixes of %s overlap at %s", s, a)
			}
			got[a] = true
		}
		if i > 0 && ps[i-1].Bits() == p.Bits() && p.Bits() > 0 {
			parent, _ := p.Addr().Prefix(p.Bits() - 1)
			if parent.Contains(ps[i-1].Addr()) {
				t.Fatalf("Prefixes of %s: %s and %s should be %s", s, ps[i-1], p, parent)
			}
		}
	}
	if !equalModels(got, m) {
		t.Fatalf("Prefixes of %s cover %d addresses, want %d", s, len(got), len(m))
	}
}

// checkSplit checks the batches partition s in order, each within the
// bound and full except the last of each family, and never mix families.
func checkSplit(t *testing.T, s Set, maxAddresses uint64) {
	t.Helper()
	chunks := Split(s, maxAddresses)
	var rebuilt Set
	for i, c := range chunks {
		checkInvariants(t, c)
		n := c.Count().Uint64()
		if n == 0 || n > maxAddresses {
			t.Fatalf("Split(%s, %d): batch %d holds %d addresses", s, maxAddresses, i, n)
		}
		if len(c.v4) > 0 && len(c.v6) > 0 {
			t.Fatalf("Split(%s, %d): batch %d mixes families", s, maxAddresses, i)
		}
		lastOfFamily := i == len(chunks)-1 || (len(c.v4) > 0 && len(chunks[i+1].v4) == 0)
		if n != maxAddresses && !lastOfFamily {
			t.Fatalf("Split(%s, %d): batch %d holds only %d addresses", s, maxAddresses, i, n)
		}
		if !rebuilt.Intersect(c).IsEmpty() {
			t.Fatalf("Split(%s, %d): batch %d overlaps an earlier one", s, maxAddresses, i)
		}
		if i > 0 && sameFamily(c, chunks[i-1]) && !precedes(chunks[i-1], c) {
			t.Fatalf("Split(%s, %d): batch %d is out of order", s, maxAddresses, i)
		}
		rebuilt = rebuilt.Union(c)
	}
	if !rebuilt.Equal(s) {
		t.Fatalf("Split(%s, %d) batches add up to %s", s, maxAddresses, rebuilt)
	}
}

func sameFamily(a, b Set) bool { return (len(a.v4) > 0) == (len(b.v4) > 0) }

func precedes(a, b Set) bool {
	ia, ib := a.Intervals(), b.Intervals()
	return ia[len(ia)-1].Last.Less(ib[0].First)
}
