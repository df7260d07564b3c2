package netset

import (
	"encoding/json"
	"math/big"
	"net/netip"
	"strings"
	"testing"
)

// mustParse is for tests only: fixtures are known to be valid.
func mustParse(t testing.TB, s string) Set {
	t.Helper()
	set, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return set
}

// checkInvariants fails t unless each family's intervals are sorted,
// within the family's range, and separated by at least one address.
func checkInvariants(t testing.TB, s Set) {
	t.Helper()
	for fam, ss := range map[string]spans{"IPv4": s.v4, "IPv6": s.v6} {
		for i, sp := range ss {
			if sp.last.less(sp.first) {
				t.Fatalf("%s interval %d ends before it starts: %v", fam, i, s)
			}
			if fam == "IPv4" && (sp.last.hi != 0 || sp.last.lo > 0xFFFFFFFF) {
				t.Fatalf("IPv4 interval %d past 255.255.255.255: %+v", i, sp)
			}
			if i > 0 && joins(ss[i-1], sp) {
				t.Fatalf("%s intervals %d and %d overlap or touch: %v", fam, i-1, i, s)
			}
		}
	}
}

func TestEdgesOfTheAddressSpace(t *testing.T) {
	all4 := mustParse(t, "0.0.0.0/0")
	all6 := mustParse(t, "::/0")
	cases := []struct {
		name string
		set  Set
		want string
	}{
		{"bottom and top IPv4 stay apart", mustParse(t, "0.0.0.0,255.255.255.255"), "0.0.0.0,255.255.255.255"},
		{"IPv4 minus its first and last", all4.Subtract(mustParse(t, "0.0.0.0,255.255.255.255")), "0.0.0.1-255.255.255.254"},
		{"IPv6 minus its first and last", all6.Subtract(mustParse(t, "::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
			"::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"},
		{"adjacent at the top merge", mustParse(t, "255.255.255.254,255.255.255.255"), "255.255.255.254/31"},
		{"halves of IPv6 merge", mustParse(t, "::/1,8000::/1"), "::/0"},
		{"halves of IPv4 merge", mustParse(t, "0.0.0.0/1,128.0.0.0/1"), "0.0.0.0/0"},
		{"families never merge", mustParse(t, "255.255.255.255,::"), "255.255.255.255,::"},
		{"intersect at the top", all6.Intersect(mustParse(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"subtract everything", all4.Union(all6).Subtract(all6.Union(all4)), ""},
	}
	for _, c := range cases {
		checkInvariants(t, c.set)
		if got := c.set.String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestCountIsExact(t *testing.T) {
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	s := mustParse(t, "::/0,0.0.0.0/0")
	if s.CountV6().Cmp(two128) != 0 {
		t.Errorf("CountV6(::/0) = %s, want 2^128", s.CountV6())
	}
	if s.CountV4() != 1<<32 {
		t.Errorf("CountV4(0.0.0.0/0) = %d, want 2^32", s.CountV4())
	}
	want := new(big.Int).Add(two128, big.NewInt(1<<32))
	if s.Count().Cmp(want) != 0 {
		t.Errorf("Count = %s, want %s", s.Count(), want)
	}
	// Many disjoint IPv6 intervals: the sum of their widths must not wrap.
	halves := mustParse(t, "::/0").Subtract(mustParse(t, "8000::"))
	if got, wantHalves := halves.CountV6(), new(big.Int).Sub(two128, big.NewInt(1)); got.Cmp(wantHalves) != 0 {
		t.Errorf("CountV6(::/0 minus one) = %s, want %s", got, wantHalves)
	}
	if (Set{}).Count().Sign() != 0 {
		t.Error("empty set has a non-zero count")
	}
}

func TestContainsNormalisesMappedAndZones(t *testing.T) {
	s := mustParse(t, "10.0.0.0/24,fe80::/64")
	for _, in := range []string{"10.0.0.1", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		if !s.Contains(netip.MustParseAddr(in)) {
			t.Errorf("Contains(%s) = false", in)
		}
	}
	for _, in := range []string{"10.0.1.0", "::a00:1", "fe80:0:0:1::1"} {
		if s.Contains(netip.MustParseAddr(in)) {
			t.Errorf("Contains(%s) = true", in)
		}
	}
	if s.Contains(netip.Addr{}) {
		t.Error("Contains(zero Addr) = true")
	}
}

func TestFromPrefixMasksAndUnmaps(t *testing.T) {
	s, err := FromPrefix(netip.MustParsePrefix("::ffff:10.0.0.77/120"))
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "10.0.0.0/24" || s.CountV6().Sign() != 0 {
		t.Errorf("FromPrefix(mapped) = %s", s)
	}
	var add Set
	if err := add.AddPrefix(netip.MustParsePrefix("10.0.0.0/25")); err != nil {
		t.Fatal(err)
	}
	if err := add.AddRange(netip.MustParseAddr("10.0.0.128"), netip.MustParseAddr("10.0.0.255")); err != nil {
		t.Fatal(err)
	}
	if !add.Equal(s) {
		t.Errorf("AddPrefix+AddRange = %s, want %s", add, s)
	}
}

func TestOperationsLeaveOperandsAlone(t *testing.T) {
	a := mustParse(t, "10.0.0.0/24,10.0.2.0/24")
	b := mustParse(t, "10.0.1.0/24")
	before := a.String()
	u := a.Union(b)
	_ = a.Subtract(b)
	_ = a.Intersect(u)
	if err := u.AddPrefix(netip.MustParsePrefix("10.0.3.0/24")); err != nil {
		t.Fatal(err)
	}
	if a.String() != before {
		t.Errorf("operand changed from %s to %s", before, a)
	}
}

func TestContainsSet(t *testing.T) {
	big := mustParse(t, "10.0.0.0/16,2001:db8::/32")
	if !big.ContainsSet(mustParse(t, "10.0.5.0/24,10.0.9.9,2001:db8::1-2001:db8::ff")) {
		t.Error("ContainsSet = false for a subset")
	}
	if big.ContainsSet(mustParse(t, "10.0.255.0-10.1.0.0")) {
		t.Error("ContainsSet = true for a set running past the end")
	}
	if !big.ContainsSet(Set{}) || (Set{}).ContainsSet(big) {
		t.Error("ContainsSet wrong about the empty set")
	}
}

func TestPrefixes(t *testing.T) {
	cases := map[string]string{
		"10.0.0.1-10.0.0.6":                          "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32",
		"0.0.0.0-255.255.255.255":                    "0.0.0.0/0",
		"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "::/0",
		"255.255.255.255,::":                         "255.255.255.255/32 ::/128",
	}
	for in, want := range cases {
		var got []string
		for _, p := range mustParse(t, in).Prefixes() {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != want {
			t.Errorf("Prefixes(%s) = %v, want %s", in, got, want)
		}
	}
}

// ::1 to the top but one is the worst case: one block of each length
// from /128 up to /2 on the way up, and again on the way down.
func TestPrefixesWorstCase(t *testing.T) {
	ps := mustParse(t, "::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").Prefixes()
	if len(ps) != 254 {
		t.Fatalf("got %d blocks, want 254", len(ps))
	}
	if ps[0].String() != "::1/128" || ps[126].String() != "4000::/2" || ps[127].String() != "8000::/2" {
		t.Errorf("blocks start %s, middle %s %s", ps[0], ps[126], ps[127])
	}
}

func TestJSON(t *testing.T) {
	s := mustParse(t, "10.0.0.0/24,2001:db8::1-2001:db8::9")
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"first":"10.0.0.0","last":"10.0.0.255"},{"first":"2001:db8::1","last":"2001:db8::9"}]`
	if string(data) != want {
		t.Errorf("Marshal = %s, want %s", data, want)
	}
	var back Set
	if err := json.Unmarshal(data, &back); err != nil || !back.Equal(s) {
		t.Errorf("Unmarshal(Marshal(s)) = %s, %v; want %s", back, err, s)
	}
	if data, _ := json.Marshal(Set{}); string(data) != "[]" {
		t.Errorf("Marshal(empty) = %s, want []", data)
	}
}

func TestJSONUnmarshalValidatesAndMerges(t *testing.T) {
	var s Set
	in := `[{"first":"10.0.0.128","last":"10.0.0.255"},{"first":"::ffff:10.0.0.0","last":"::ffff:10.0.0.127"}]`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.String() != "10.0.0.0/24" {
		t.Errorf("Unmarshal merged to %s, want 10.0.0.0/24", s)
	}
	bad := []string{
		`[{"first":"10.0.0.9","last":"10.0.0.1"}]`,
		`[{"first":"10.0.0.1","last":"::1"}]`,
		`[{"first":"fe80::1%eth0","last":"fe80::2"}]`,
		`[{"first":"10.0.0.1"}]`,
		`[{"first":"nonsense","last":"10.0.0.1"}]`,
		`{"first":"10.0.0.1","last":"10.0.0.2"}`,
	}
	for _, in := range bad {
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s) accepted", in)
		}
	}
}
