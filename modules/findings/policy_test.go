package findings

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"

	"mipo/modules/config/portset"
)

// bruteForce is the evaluator written the slow, obvious way: look at every rule, keep those
// that hold the address at the length of their narrowest prefix that does, sort widest first,
// and read them in order.
func bruteForce(rules []Rule, a netip.Addr) (applies bool, allowed map[uint16]bool) {
	type hit struct {
		r    Rule
		bits int
	}
	var hits []hit
	for _, r := range rules {
		best := -1
		for _, p := range r.Prefixes {
			if p.Contains(a) && p.Bits() > best {
				best = p.Bits()
			}
		}
		if best >= 0 {
			hits = append(hits, hit{r, best})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].bits != hits[j].bits {
			return hits[i].bits < hits[j].bits
		}
		if kindRank[hits[i].r.Kind] != kindRank[hits[j].r.Kind] {
			return kindRank[hits[i].r.Kind] < kindRank[hits[j].r.Kind]
		}
		return hits[i].r.ID < hits[j].r.ID
	})
	allowed = map[uint16]bool{}
	for _, h := range hits {
		switch h.r.Mode {
		case ModeNothing:
			allowed = map[uint16]bool{}
		case ModeOnly:
			allowed = map[uint16]bool{}
			fallthrough
		default:
			for _, rg := range h.r.Ports.Ranges() {
				for p := int(rg.First); p <= int(rg.Last); p++ {
					allowed[uint16(p)] = true
				}
			}
		}
	}
	return len(hits) > 0, allowed
}

// randomNested builds rules over nested prefixes inside 10.0.0.0/16: groups of a few prefixes,
// subnets, single addresses, each with a random mode and a few ports from a small range, so
// that overlaps, same-length ties and "nothing allowed" happen often.
func randomNested(r *rand.Rand, n int) []Rule {
	kinds := []string{KindGroup, KindSubnet, KindCIDR, KindAddress}
	modes := []string{ModeAllow, ModeAllow, ModeOnly, ModeNothing}
	var rules []Rule
	for i := 0; i < n; i++ {
		kind := kinds[r.IntN(len(kinds))]
		count := 1
		if kind == KindGroup {
			count = 1 + r.IntN(3)
		}
		var prefixes []netip.Prefix
		for j := 0; j < count; j++ {
			bits := 16 + r.IntN(17)
			if kind == KindAddress {
				bits = 32
			}
			a := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(8))})
			prefixes = append(prefixes, netip.PrefixFrom(a, bits).Masked())
		}
		var ports []uint16
		for j := r.IntN(4); j > 0; j-- {
			ports = append(ports, uint16(20+r.IntN(10)))
		}
		ps, _ := portset.FromPorts(ports...)
		rules = append(rules, Rule{ID: fmt.Sprintf("b%03d", i), Kind: kind, Mode: modes[r.IntN(len(modes))], Prefixes: prefixes, Ports: ps})
	}
	return rules
}

func TestPolicyMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 21))
		rules := randomNested(r, 1+r.IntN(12))
		p := Compile(rules)
		for i := 0; i < 40; i++ {
			a := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(5)), byte(r.IntN(10))})
			applies, want := bruteForce(rules, a)
			got := p.Evaluate(a)
			if got.Applies != applies {
				t.Fatalf("seed %d, %s: applies %v, brute force says %v (rules %+v)", seed, a, got.Applies, applies, rules)
			}
			for port := uint16(18); port < 32; port++ {
				if g, w := got.Allowed.Contains(port), want[port]; g != w {
					t.Fatalf("seed %d, %s port %d: allowed %v, brute force says %v (chain %v, rules %+v)", seed, a, port, g, w, got.Chain, rules)
				}
			}
		}
	}
}

func TestNothingAllowedIsNarrowedOnlyByNarrowerScopes(t *testing.T) {
	web := portset.MustParse("80,443")
	rules := []Rule{
		{ID: "site", Kind: KindCIDR, Mode: ModeAllow, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}, Ports: portset.MustParse("22")},
		{ID: "dmz", Kind: KindSubnet, Mode: ModeNothing, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")}},
		{ID: "www", Kind: KindAddress, Mode: ModeAllow, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.5/32")}, Ports: web},
	}
	p := Compile(rules)
	cases := []struct {
		addr    string
		port    uint16
		allowed bool
	}{
		{"10.0.2.1", 22, true},  // the site allows ssh
		{"10.0.2.1", 80, false}, // and nothing else
		{"10.0.1.9", 22, false}, // the dmz allows nothing, not even what the site allows
		{"10.0.1.5", 443, true}, // but its web server may serve the web
		{"10.0.1.5", 22, false}, // and only that
		{"192.0.2.1", 22, true}, // no baseline: not judged
	}
	for _, c := range cases {
		if got := p.Evaluate(netip.MustParseAddr(c.addr)).Allows(c.port); got != c.allowed {
			t.Errorf("%s:%d allowed = %v, want %v", c.addr, c.port, got, c.allowed)
		}
	}
	if v := p.Evaluate(netip.MustParseAddr("10.0.1.5")); fmt.Sprint(v.Chain) != "[site dmz www]" {
		t.Errorf("chain = %v, want widest first", v.Chain)
	}
}
