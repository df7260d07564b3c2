package portset

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// bits is the brute-force model of a port set: one flag per port.
type bits [65536]bool

func (b *bits) count() int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// randomSet draws a few ports and ranges, biased to the ends and to a
// small window so overlaps, adjacency and nesting are common.
func randomSet(rng *rand.Rand) (Set, *bits) {
	var m bits
	var s Set
	port := func() int {
		switch rng.IntN(4) {
		case 0:
			return 1 + rng.IntN(40)
		case 1:
			return 65535 - rng.IntN(40)
		default:
			return 1 + rng.IntN(65535)
		}
	}
	for range rng.IntN(8) {
		a, b := port(), port()
		if rng.IntN(2) == 0 {
			b = a
		}
		a, b = min(a, b), max(a, b)
		r, err := FromRange(uint16(a), uint16(b))
		if err != nil {
			panic(err)
		}
		s = s.Union(r)
		for p := a; p <= b; p++ {
			m[p] = true
		}
	}
	return s, &m
}

func agree(t *testing.T, what string, s Set, m *bits) {
	t.Helper()
	for i, r := range s.r {
		if r.First == 0 || r.First > r.Last || (i > 0 && int(s.r[i-1].Last)+1 >= int(r.First)) {
			t.Fatalf("%s: ranges not sorted and merged: %v", what, s.r)
		}
	}
	for p := range 65536 {
		if s.Contains(uint16(p)) != m[p] {
			t.Fatalf("%s: Contains(%d) = %v, brute force %v (set %s)", what, p, !m[p], m[p], s)
		}
	}
	if s.Count() != m.count() {
		t.Fatalf("%s: Count = %d, brute force %d", what, s.Count(), m.count())
	}
	if s.IsEmpty() != (m.count() == 0) {
		t.Fatalf("%s: IsEmpty = %v", what, s.IsEmpty())
	}
}

func TestOperationsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		a, ma := randomSet(rng)
		b, mb := randomSet(rng)
		var union, inter, diff bits
		subset := true
		for p := range ma {
			union[p] = ma[p] || mb[p]
			inter[p] = ma[p] && mb[p]
			diff[p] = ma[p] && !mb[p]
			if mb[p] && !ma[p] {
				subset = false
			}
		}
		agree(t, "a", a, ma)
		agree(t, "union", a.Union(b), &union)
		agree(t, "intersect", a.Intersect(b), &inter)
		agree(t, "subtract", a.Subtract(b), &diff)
		if a.ContainsSet(b) != subset {
			t.Fatalf("%s.ContainsSet(%s) = %v, brute force %v", a, b, !subset, subset)
		}
		if a.Equal(b) != (*ma == *mb) {
			t.Fatalf("%s.Equal(%s) wrong", a, b)
		}
		checkRoundTrips(t, a)
	}
}

func checkRoundTrips(t *testing.T, s Set) {
	t.Helper()
	if !s.IsEmpty() {
		if back, err := Parse(s.String()); err != nil || !back.Equal(s) {
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
	var rebuilt Set
	for _, r := range s.Ranges() {
		part, err := FromRange(r.First, r.Last)
		if err != nil {
			t.Fatal(err)
		}
		rebuilt = rebuilt.Union(part)
	}
	if !rebuilt.Equal(s) {
		t.Fatalf("Ranges of %s rebuild %s", s, rebuilt)
	}
}

func TestEdges(t *testing.T) {
	all := All()
	ends := MustParse("1,65535")
	if got := all.Subtract(ends).String(); got != "2-65534" {
		t.Errorf("All minus ends = %s", got)
	}
	if got := ends.Union(MustParse("2-65534")).String(); got != "1-65535" {
		t.Errorf("ends plus middle = %s", got)
	}
	if !all.Subtract(all).IsEmpty() || !(Set{}).Subtract(all).IsEmpty() {
		t.Error("subtracting everything left something")
	}
	if got := (Set{}).Intersect(all); !got.IsEmpty() {
		t.Errorf("empty ∩ all = %s", got)
	}
}

func TestJSON(t *testing.T) {
	data, err := json.Marshal(struct{ Ports Set }{MustParse("443,22,8000-8100,80")})
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"Ports":"22,80,443,8000-8100"}` {
		t.Errorf("Marshal = %s", data)
	}
	var s Set
	if err := json.Unmarshal([]byte(`"0"`), &s); err == nil {
		t.Error("Unmarshal accepted port 0")
	}
	if err := json.Unmarshal([]byte(`[22]`), &s); err == nil {
		t.Error("Unmarshal accepted a number list")
	}
	if err := json.Unmarshal([]byte(`""`), &s); err != nil || !s.IsEmpty() {
		t.Errorf("Unmarshal(\"\") = %s, %v", s, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"22,80,443,8000-8100", " 1 - 65535 ", "0", "8100-8000", "http", "", ",,", "-", "60000-", "65536", "1,1,1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("%q: error %v is not a *ParseError", in, err)
			}
			if pe.Offset < 0 || pe.Offset+len(pe.Input) > len(in) || in[pe.Offset:pe.Offset+len(pe.Input)] != pe.Input {
				t.Fatalf("%q: error names %q at offset %d", in, pe.Input, pe.Offset)
			}
			if pe.Suggestion != "" {
				if _, err := Parse(pe.Suggestion); err != nil {
					t.Fatalf("%q: suggestion %q fails: %v", in, pe.Suggestion, err)
				}
			}
			return
		}
		if s.IsEmpty() {
			t.Fatalf("%q: accepted as the empty set", in)
		}
		back, err := Parse(s.String())
		if err != nil || !back.Equal(s) || back.String() != s.String() {
			t.Fatalf("%q: %s came back as %s, %v", in, s, back, err)
		}
	})
}
