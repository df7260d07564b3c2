package netset

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseCIDRAccepts(t *testing.T) {
	cases := map[string]string{
		"10.0.0.0/24":         "10.0.0.0/24",
		"  10.0.0.0/8\t":      "10.0.0.0/8",
		"0.0.0.0/0":           "0.0.0.0/0",
		"255.255.255.255/32":  "255.255.255.255/32",
		"::/0":                "::/0",
		"2001:DB8::/32":       "2001:db8::/32",
		"::ffff:10.0.0.0/120": "10.0.0.0/24", // mapped IPv4 becomes IPv4
		"::ffff:0.0.0.0/96":   "0.0.0.0/0",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	}
	for in, want := range cases {
		p, err := ParseCIDR(in)
		if err != nil {
			t.Errorf("ParseCIDR(%q): %v", in, err)
			continue
		}
		if p.String() != want {
			t.Errorf("ParseCIDR(%q) = %s, want %s", in, p, want)
		}
	}
}

func TestParseCIDRErrors(t *testing.T) {
	cases := []struct {
		in, msg, suggestion string
	}{
		{"10.0.0.1/24", "10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?", "10.0.0.0/24"},
		{"2001:db8::1/32", "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?", "2001:db8::/32"},
		{"10.0.0.0/33", "10.0.0.0/33 has prefix length 33, but IPv4 allows 0 to 32", ""},
		{"::/129", "::/129 has prefix length 129, but IPv6 allows 0 to 128", ""},
		{"10.0.0.0/99999999999999999999", "10.0.0.0/99999999999999999999 has prefix length 99999999999999999999, but IPv4 allows 0 to 32", ""},
		{"10.0.0.0/", "10.0.0.0/ has no prefix length after the slash", ""},
		{"10.0.0.0/-1", "10.0.0.0/-1 has a prefix length that is not a number", ""},
		{"10.0.0.0/24/8", "10.0.0.0/24/8 has a prefix length that is not a number", ""},
		{"10.0.0.1/024", "10.0.0.1/024 has a prefix length with a leading zero; did you mean 10.0.0.0/24?", "10.0.0.0/24"},
		{"10.0.0.1", "10.0.0.1 has no prefix length; did you mean 10.0.0.1/32?", "10.0.0.1/32"},
		{"2001:db8::", "2001:db8:: has no prefix length; did you mean 2001:db8::/128?", "2001:db8::/128"},
		{"garbage", "garbage is not a CIDR (an address, a slash and a prefix length, as in 10.0.0.0/24)", ""},
		{"10.0.0.256/24", "10.0.0.256/24 has an address that is not a valid IP address (IPv4 field has value >255)", ""},
		{"fe80::1%eth0", "fe80::1%eth0 has an interface zone, which scan targets must not have; did you mean fe80::1/128?", "fe80::1/128"},
		{"fe80::1%eth0/64", "fe80::1%eth0/64 has an interface zone, which scan targets must not have; did you mean fe80::/64?", "fe80::/64"},
		{"::ffff:10.0.0.1/120", "::ffff:10.0.0.1/120 has host bits set; did you mean 10.0.0.0/24?", "10.0.0.0/24"},
		{"::ffff:10.0.0.0/64", "::ffff:10.0.0.0/64 has an IPv4-mapped address with a prefix length below 96, which reaches outside the mapped IPv4 space", ""},
		{"   ", "no CIDR given", ""},
	}
	for _, c := range cases {
		_, err := ParseCIDR(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseCIDR(%q) error = %v, want a *ParseError", c.in, err)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("ParseCIDR(%q) error\n got %q\nwant %q", c.in, err, c.msg)
		}
		if pe.Suggestion != c.suggestion {
			t.Errorf("ParseCIDR(%q) suggestion = %q, want %q", c.in, pe.Suggestion, c.suggestion)
		}
	}
}

func TestParseTarget(t *testing.T) {
	cases := map[string]string{
		"10.0.0.7":                                   "10.0.0.7",
		"10.0.0.0/30":                                "10.0.0.0/30",
		"10.0.0.0 - 10.0.0.3":                        "10.0.0.0/30",
		"10.0.0.1-10.0.0.9":                          "10.0.0.1-10.0.0.9",
		"10.0.0.5-10.0.0.5":                          "10.0.0.5",
		"::ffff:10.0.0.1-::ffff:10.0.0.9":            "10.0.0.1-10.0.0.9",
		"::ffff:10.0.0.1":                            "10.0.0.1",
		"0.0.0.0-255.255.255.255":                    "0.0.0.0/0",
		"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "::/0",
		"2001:db8::1-2001:db8::ff":                   "2001:db8::1-2001:db8::ff",
	}
	for in, want := range cases {
		s, err := ParseTarget(in)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", in, err)
			continue
		}
		if s.String() != want {
			t.Errorf("ParseTarget(%q) = %s, want %s", in, s, want)
		}
	}
}

func TestParseTargetErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"10.0.0.9-10.0.0.1", "10.0.0.9-10.0.0.1 starts after it ends; did you mean 10.0.0.1-10.0.0.9?"},
		{"10.0.0.1-::1", "10.0.0.1-::1 mixes IPv4 and IPv6 addresses"},
		{"10.0.0.0/24-10.0.1.0/24", "10.0.0.0/24-10.0.1.0/24 has a CIDR as its start; a range joins two single addresses"},
		{"10.0.0.1-", "10.0.0.1- has no end address"},
		{"-10.0.0.1", "-10.0.0.1 has no start address"},
		{"fe80::1%eth0-fe80::9", "fe80::1%eth0-fe80::9 has start address fe80::1%eth0, which has an interface zone, which scan targets must not have; did you mean fe80::1-fe80::9?"},
		{"fe80::1%eth0", "fe80::1%eth0 has an interface zone, which scan targets must not have; did you mean fe80::1?"},
		{"10.0.0.1 10.0.0.2", "10.0.0.1 10.0.0.2 contains a space; separate targets with commas or new lines"},
		{"10.0.0.1-10.0.0.300", "10.0.0.1-10.0.0.300 has end address 10.0.0.300, which is not a valid IP address (IPv4 field has value >255)"},
		{"10.0.0.1/24", "10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?"},
		{"host.example", "host.example is a host name; scan targets are IP addresses"},
		{"10.0.0", "10.0.0 is not a valid IP address (IPv4 address too short)"},
		{"zzz", "zzz is not a valid IP address"},
		{"", "no target given"},
	}
	for _, c := range cases {
		_, err := ParseTarget(c.in)
		if err == nil || err.Error() != c.msg {
			t.Errorf("ParseTarget(%q) error\n got %v\nwant %s", c.in, err, c.msg)
		}
	}
}

// A suggestion must itself parse, or the operator is sent from one error
// to the next.
func TestSuggestionsParse(t *testing.T) {
	inputs := []string{"10.0.0.1/24", "fe80::1%eth0/64", "fe80::1%eth0", "10.0.0.9-10.0.0.1",
		"fe80::1%eth-0", "fe80::1%x-10.0.0.1", "10.0.0.1/024", "::ffff:10.0.0.1/120"}
	for _, in := range inputs {
		_, err := ParseTarget(in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("ParseTarget(%q) = %v, want a *ParseError", in, err)
		}
		if pe.Suggestion == "" {
			continue
		}
		if _, err := ParseTarget(pe.Suggestion); err != nil {
			t.Errorf("ParseTarget(%q) suggests %q, which fails: %v", in, pe.Suggestion, err)
		}
	}
}

func TestParseList(t *testing.T) {
	s, err := Parse("10.0.0.0/24, 10.0.1.0/24,\n10.0.0.5,,2001:db8::/64 ,\r\n10.0.2.0 - 10.0.3.255,")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "10.0.0.0/22,2001:db8::/64"; got != want {
		t.Errorf("Parse = %s, want %s", got, want)
	}
}

func TestParseListErrorOffset(t *testing.T) {
	in := "10.0.0.0/8, 10.1.0.1/16\n192.0.2.0/24"
	_, err := Parse(in)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error = %v, want a *ParseError", err)
	}
	if pe.Input != "10.1.0.1/16" || in[pe.Offset:pe.Offset+len(pe.Input)] != pe.Input {
		t.Errorf("error names %q at offset %d, want 10.1.0.1/16 where it stands", pe.Input, pe.Offset)
	}
	if pe.Suggestion != "10.1.0.0/16" {
		t.Errorf("suggestion = %q", pe.Suggestion)
	}
	for _, empty := range []string{"", " , ,\n"} {
		if _, err := Parse(empty); err == nil || err.Error() != "no target given" {
			t.Errorf("Parse(%q) error = %v, want no target given", empty, err)
		}
	}
}

func TestFromRangeErrors(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("10.0.0.1")
	if _, err := FromRange(a, b); err == nil || err.Error() != "10.0.0.9-10.0.0.1 starts after it ends; did you mean 10.0.0.1-10.0.0.9?" {
		t.Errorf("FromRange reversed: %v", err)
	}
	if _, err := FromRange(a, netip.MustParseAddr("::1")); err == nil {
		t.Error("FromRange accepted mixed families")
	}
	if _, err := FromRange(netip.Addr{}, a); err == nil {
		t.Error("FromRange accepted the zero Addr")
	}
	if _, err := FromRange(netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::2")); err == nil {
		t.Error("FromRange accepted a zone")
	}
	if _, err := FromPrefix(netip.Prefix{}); err == nil {
		t.Error("FromPrefix accepted the zero Prefix")
	}
}
