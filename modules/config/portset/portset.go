package portset

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Range is an inclusive range of ports, 1 <= First <= Last.
type Range struct{ First, Last uint16 }

// Set is a set of TCP ports. The zero value is the empty set. A Set is a
// value: operations return new Sets and never change their operands.
type Set struct {
	r []Range // sorted, merged: neighbours are at least one port apart
}

// All returns every port, 1-65535.
func All() Set { return Set{r: []Range{{1, 65535}}} }

// FromRange returns the ports first to last inclusive.
func FromRange(first, last uint16) (Set, error) {
	in := strconv.Itoa(int(first)) + "-" + strconv.Itoa(int(last))
	if err := checkRange(in, int(first), int(last)); err != nil {
		return Set{}, err
	}
	return Set{r: []Range{{first, last}}}, nil
}

// FromPorts returns a set of single ports; port 0 is an error.
func FromPorts(ports ...uint16) (Set, error) {
	rs := make([]Range, 0, len(ports))
	for _, p := range ports {
		if p == 0 {
			return Set{}, &ParseError{Input: "0", Reason: "ports are 1-65535"}
		}
		rs = append(rs, Range{p, p})
	}
	return Set{r: normalize(rs)}, nil
}

// normalize sorts and merges ranges in place.
func normalize(rs []Range) []Range {
	slices.SortFunc(rs, func(a, b Range) int { return int(a.First) - int(b.First) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && int(r.First) <= int(out[n-1].Last)+1 {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// Union returns the ports in s or any of others.
func (s Set) Union(others ...Set) Set {
	rs := slices.Clone(s.r)
	for _, o := range others {
		rs = append(rs, o.r...)
	}
	return Set{r: normalize(rs)}
}

// Intersect returns the ports in both s and o.
func (s Set) Intersect(o Set) Set {
	var out []Range
	a, b := s.r, o.r
	for len(a) > 0 && len(b) > 0 {
		first, last := max(a[0].First, b[0].First), min(a[0].Last, b[0].Last)
		if first <= last {
			out = append(out, Range{first, last})
		}
		// The range that ends first cannot meet anything further on.
		if a[0].Last < b[0].Last {
			a = a[1:]
		} else {
			b = b[1:]
		}
	}
	return Set{r: out}
}

// Subtract returns the ports of s that are not in o.
func (s Set) Subtract(o Set) Set { return s.Intersect(o.complement()) }

// complement returns every port not in s.
func (s Set) complement() Set {
	var out []Range
	next := 1 // first port not yet accounted for
	for _, r := range s.r {
		if int(r.First) > next {
			out = append(out, Range{uint16(next), r.First - 1})
		}
		next = int(r.Last) + 1
	}
	if next <= 65535 {
		out = append(out, Range{uint16(next), 65535})
	}
	return Set{r: out}
}

// Contains reports whether port p is in s.
func (s Set) Contains(p uint16) bool {
	i := sort.Search(len(s.r), func(i int) bool { return s.r[i].Last >= p })
	return i < len(s.r) && s.r[i].First <= p
}

// ContainsSet reports whether every port of o is in s.
func (s Set) ContainsSet(o Set) bool { return o.Subtract(s).IsEmpty() }

// Count returns the number of ports in s.
func (s Set) Count() int {
	n := 0
	for _, r := range s.r {
		n += int(r.Last) - int(r.First) + 1
	}
	return n
}

// Ranges returns the ranges of s in ascending order.
func (s Set) Ranges() []Range { return slices.Clone(s.r) }

// IsEmpty reports whether s holds no port.
func (s Set) IsEmpty() bool { return len(s.r) == 0 }

// Equal reports whether s and o hold the same ports.
func (s Set) Equal(o Set) bool { return slices.Equal(s.r, o.r) }

// String returns the normalised form, "22,80,443,8000-8100"; Parse reads
// it back to an equal Set. The empty set is "".
func (s Set) String() string {
	var b strings.Builder
	for i, r := range s.r {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(r.First)))
		if r.Last != r.First {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.Last)))
		}
	}
	return b.String()
}

// MarshalJSON writes s as its normalised string, "22,80,443,8000-8100":
// the form operators read and type, and far shorter than a list of
// numbers for a top-1000 list. The empty set is "".
func (s Set) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a string as Parse does; "" is the empty set, so
// every Set round-trips through JSON.
func (s *Set) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		*s = Set{}
		return nil
	}
	set, err := Parse(text)
	if err != nil {
		return err
	}
	*s = set
	return nil
}

// JSONSchemaAlias tells invopop/jsonschema (the OpenAPI document's generator) that a Set is a
// string in JSON, "22,80,443,8000-8100". A method, not an import: portset has no dependencies.
func (Set) JSONSchemaAlias() any { return "" }
