package findings

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"mipo/modules/config/portset"
)

// Modes of a baseline: how its ports combine with what wider baselines allow.
const (
	// ModeAllow adds its ports to what the wider scopes allow (inheritance).
	ModeAllow = "allow"
	// ModeOnly allows exactly its ports here, whatever the wider scopes allow.
	ModeOnly = "only"
	// ModeNothing is the explicit "nothing allowed": no port is expected here, unless a still
	// narrower baseline allows some.
	ModeNothing = "nothing"
)

// Scope kinds, widest kind first: at the same prefix length a subnet group yields to a subnet,
// and a subnet to a single address.
const (
	KindGroup   = "subnet_group"
	KindSubnet  = "subnet"
	KindCIDR    = "cidr"
	KindAddress = "address"
)

var kindRank = map[string]int{KindGroup: 0, KindCIDR: 1, KindSubnet: 1, KindAddress: 2}

// Rule is one baseline, resolved: the prefixes it covers and the ports it allows.
type Rule struct {
	ID       string
	Kind     string
	Mode     string
	Prefixes []netip.Prefix
	Ports    portset.Set
}

// Verdict is what applies to one address: whether any baseline does, the ports allowed, and
// the baselines that made it, widest first.
type Verdict struct {
	Applies bool
	Allowed portset.Set
	Chain   []string
}

// Allows reports whether port is expected under the verdict. An address no baseline covers is
// not judged: every port is allowed.
func (v *Verdict) Allows(port uint16) bool { return !v.Applies || v.Allowed.Contains(port) }

// fold applies rules, widest first, the way inheritance reads: allow adds, only replaces,
// nothing empties.
func fold(rules []*Rule) Verdict {
	v := Verdict{Applies: len(rules) > 0, Chain: make([]string, 0, len(rules))}
	for _, r := range rules {
		switch r.Mode {
		case ModeOnly:
			v.Allowed = r.Ports
		case ModeNothing:
			v.Allowed = portset.Set{}
		default:
			v.Allowed = v.Allowed.Union(r.Ports)
		}
		v.Chain = append(v.Chain, r.ID)
	}
	return v
}

// Policy is a set of rules compiled for fast lookup. An address is matched against one hash
// map per prefix length in use (at most 33 for IPv4, 129 for IPv6), never against every rule,
// and verdicts are memoised per chain of rules, so a million observations against ten
// thousand rules cost a few map lookups each.
type Policy struct {
	rules   []*Rule
	v4, v6  []int // prefix lengths in use, ascending
	index   map[string][]entry
	verdict map[string]*Verdict
}

type entry struct {
	rule int
	bits int
}

// Compile indexes rules.
func Compile(rules []Rule) *Policy {
	p := &Policy{index: map[string][]entry{}, verdict: map[string]*Verdict{}}
	seen4, seen6 := map[int]bool{}, map[int]bool{}
	for i := range rules {
		r := &rules[i]
		p.rules = append(p.rules, r)
		for _, pf := range r.Prefixes {
			pf = pf.Masked()
			if pf.Addr().Is4() {
				if !seen4[pf.Bits()] {
					seen4[pf.Bits()] = true
					p.v4 = append(p.v4, pf.Bits())
				}
			} else if !seen6[pf.Bits()] {
				seen6[pf.Bits()] = true
				p.v6 = append(p.v6, pf.Bits())
			}
			k := prefixKey(pf)
			p.index[k] = append(p.index[k], entry{rule: i, bits: pf.Bits()})
		}
	}
	slices.Sort(p.v4)
	slices.Sort(p.v6)
	return p
}

func prefixKey(pf netip.Prefix) string {
	b := pf.Addr().AsSlice()
	return string(append(b, byte(pf.Bits())))
}

// Evaluate returns the verdict for an address. The Policy memoises, so it is not safe for use
// by several goroutines at once.
func (p *Policy) Evaluate(a netip.Addr) *Verdict {
	a = a.Unmap()
	lengths := p.v4
	if a.Is6() {
		lengths = p.v6
	}
	var found []entry
	var buf [17]byte
	for _, bits := range lengths {
		pf, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		b := pf.Addr().AsSlice()
		n := copy(buf[:], b)
		buf[n] = byte(bits)
		if es, ok := p.index[string(buf[:n+1])]; ok {
			found = append(found, es...)
		}
	}
	// A rule with several prefixes holding the address counts once, at its narrowest.
	best := map[int]int{}
	for _, e := range found {
		if e.bits >= best[e.rule] {
			best[e.rule] = e.bits
		}
	}
	ids := make([]int, 0, len(best))
	for r := range best {
		ids = append(ids, r)
	}
	slices.SortFunc(ids, func(x, y int) int {
		if best[x] != best[y] {
			return best[x] - best[y]
		}
		if kx, ky := kindRank[p.rules[x].Kind], kindRank[p.rules[y].Kind]; kx != ky {
			return kx - ky
		}
		return strings.Compare(p.rules[x].ID, p.rules[y].ID)
	})
	key := make([]byte, 0, 4*len(ids))
	for _, r := range ids {
		key = binary.LittleEndian.AppendUint32(key, uint32(r))
	}
	if v, ok := p.verdict[string(key)]; ok {
		return v
	}
	chain := make([]*Rule, len(ids))
	for i, r := range ids {
		chain[i] = p.rules[r]
	}
	v := fold(chain)
	p.verdict[string(key)] = &v
	return &v
}

// judge answers "is this open port a finding?" for a stream of observations, which arrive
// grouped by address (the results index's order), so each address is looked up once.
type judge struct {
	p    *Policy
	last netip.Addr
	v    *Verdict
}

func newJudge(rules []Rule) *judge { return &judge{p: Compile(rules)} }

func (j *judge) verdict(a netip.Addr) *Verdict {
	if j.v == nil || a != j.last {
		j.last, j.v = a, j.p.Evaluate(a)
	}
	return j.v
}

func (j *judge) violates(a netip.Addr, port uint16) bool { return !j.verdict(a).Allows(port) }
