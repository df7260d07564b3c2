package netset

import (
	"errors"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"10.0.0.0/24", "10.0.0.1/24", "::/0", "0.0.0.0/0", "255.255.255.255/32", "10.0.0.0/33",
	"fe80::1%eth0", "fe80::1%eth0/64", "::ffff:10.0.0.0/120", "::ffff:1.2.3.4", "10.0.0.1-10.0.0.9",
	"10.0.0.9 - 10.0.0.1", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "10.0.0.1-::1", " ", "-", "/",
	"10.0.0.0/024", "1.2.3.4/", "2001:db8::1/32", "10.0.0.0/8,10.0.0.0/9\n::1", "a.b-c/d%e",
}

// checkParseError fails t unless err is a *ParseError that points at
// itself in the input and offers only suggestions that parse.
func checkParseError(t *testing.T, in string, err error, parses func(string) error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%q: error %v is not a *ParseError", in, err)
	}
	if pe.Error() == "" || pe.Reason == "" {
		t.Fatalf("%q: empty error message", in)
	}
	if pe.Offset < 0 || pe.Offset+len(pe.Input) > len(in) || in[pe.Offset:pe.Offset+len(pe.Input)] != pe.Input {
		t.Fatalf("%q: error names %q at offset %d, which is not where it stands", in, pe.Input, pe.Offset)
	}
	if pe.Suggestion != "" {
		if err := parses(pe.Suggestion); err != nil {
			t.Fatalf("%q: suggestion %q does not parse: %v", in, pe.Suggestion, err)
		}
	}
}

func FuzzParseCIDR(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParseCIDR(in)
		if err != nil {
			checkParseError(t, in, err, func(s string) error { _, err := ParseCIDR(s); return err })
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("%q: accepted as non-canonical %s", in, p)
		}
		if back, err := ParseCIDR(p.String()); err != nil || back != p {
			t.Fatalf("%q: %s came back as %s, %v", in, p, back, err)
		}
		s, err := FromPrefix(p)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseTarget(s.String()); err != nil || !back.Equal(s) {
			t.Fatalf("%q: set %s came back as %s, %v", in, s, back, err)
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseTarget(in)
		if err != nil {
			checkParseError(t, in, err, func(s string) error { _, err := ParseTarget(s); return err })
		} else {
			checkInvariants(t, s)
			if s.IsEmpty() || len(s.Intervals()) != 1 {
				t.Fatalf("%q: one target made %s", in, s)
			}
			if back, err := ParseTarget(s.String()); err != nil || !back.Equal(s) {
				t.Fatalf("%q: %s came back as %s, %v", in, s, back, err)
			}
		}
		list, err := Parse(in)
		if err != nil {
			checkParseError(t, in, err, func(s string) error { _, err := ParseTarget(s); return err })
			return
		}
		checkInvariants(t, list)
		if back, err := Parse(list.String()); err != nil || !back.Equal(list) {
			t.Fatalf("%q: list %s came back as %s, %v", in, list, back, err)
		}
		if !strings.ContainsAny(in, ",\n") && !list.Equal(s) {
			t.Fatalf("%q: Parse gave %s but ParseTarget %s", in, list, s)
		}
	})
}

// FuzzSetOps reads the input as a program: a byte picking the universes,
// then five bytes per step (operation, kind, shape, two positions). After
// every step the set must keep its invariants, and at the end it must
// match the same program run on a brute-force model.
func FuzzSetOps(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 1, 5, 6, 7, 8, 2, 9, 10, 11, 12})
	f.Add([]byte{8, 0, 0, 0, 0, 255, 1, 1, 0, 255, 0, 0, 2, 200, 3, 250, 3, 0, 77, 9, 9})
	f.Add([]byte{4, 0, 1, 0, 0, 255, 0, 0, 128, 0, 0, 1, 0, 64, 0, 0, 2, 1, 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		u4, u6 := universes4[int(data[0])%3], universes6[int(data[0])/3%3]
		data = data[1:]
		var s Set
		m := model{}
		for ; len(data) >= 5; data = data[5:] {
			op, kind, shape := data[0], data[1], data[2]
			u := u4
			if kind&1 == 1 {
				u = u6
			}
			i, j := int(data[3])*4+int(shape&3), int(data[4])*4+int(shape>>2&3)
			p, pm := piece(u, kind&2 == 0, int(shape>>4), i, j)
			switch op % 3 {
			case 0:
				s = s.Union(p)
				for a := range pm {
					m[a] = true
				}
			case 1:
				s = s.Subtract(p)
				for a := range pm {
					delete(m, a)
				}
			case 2:
				s = s.Intersect(p)
				for a := range m {
					if !pm[a] {
						delete(m, a)
					}
				}
			}
			checkInvariants(t, s)
		}
		agree(t, "after the program", s, m, u4, u6)
	})
}
