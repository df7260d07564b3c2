package scanners

import (
	"net/netip"
	"strings"
	"testing"

	"mipo/app"
)

func TestParseBinding(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10": "192.0.2.10", " 192.0.2.0/24 ": "192.0.2.0/24", "2001:db8::/48": "2001:db8::/48", "2001:DB8::1": "2001:db8::1",
		"as64500": "AS64500", "AS4294967295": "AS4294967295", "::ffff:192.0.2.1": "192.0.2.1", "10.0.0.1/32": "10.0.0.1",
	} {
		b, err := ParseBinding("binding", in)
		if err != nil || b.String() != want {
			t.Errorf("%q: %v %v, want %s", in, b, err, want)
		}
		if again, err := ParseBinding("binding", b.String()); err != nil || again != b {
			t.Errorf("%q does not round-trip: %v %v", in, again, err)
		}
	}
	for in, wantInMessage := range map[string]string{
		"":               "give a binding",
		"192.0.2.1/24":   "did you mean 192.0.2.0/24",
		"0.0.0.0/0":      "every address",
		"::/0":           "every address",
		"AS0":            "not an ASN",
		"AS4294967296":   "not an ASN",
		"AS+5":           "not an ASN",
		"AS064500":       "not an ASN",
		"fe80::1%eth0":   "zone",
		"mipo.example":   "not an address",
		"::ffff:0:0/104": "IPv4-mapped",
		"10.0.0.0/33":    "not a CIDR",
	} {
		_, err := ParseBinding("binding", in)
		e, ok := err.(*app.Error)
		if !ok || e.Field != "binding" || e.Status != 400 || !strings.Contains(e.Message, wantInMessage) {
			t.Errorf("%q: %v, want a 400 on binding saying %q", in, err, wantInMessage)
		}
	}
}

func TestBindingAllows(t *testing.T) {
	b, _ := ParseBinding("binding", "192.0.2.0/24")
	for addr, want := range map[string]bool{"192.0.2.7": true, "::ffff:192.0.2.7": true, "192.0.3.1": false, "2001:db8::1": false} {
		if got, err := b.Allows(netip.MustParseAddr(addr), nil); err != nil || got != want {
			t.Errorf("%s in %s: %v %v", addr, b, got, err)
		}
	}
	if ok, _ := b.Allows(netip.Addr{}, nil); ok {
		t.Error("an unknown source address is allowed")
	}
	asn, _ := ParseBinding("binding", "AS64500")
	if ok, err := asn.Allows(netip.MustParseAddr("192.0.2.7"), nil); ok || err == nil {
		t.Error("an ASN binding without a database allows")
	}
}

func FuzzParseBinding(f *testing.F) {
	for _, s := range []string{"192.0.2.10", "192.0.2.0/24", "2001:db8::/48", "AS64500", "as1", "1.2.3.4/0", "::1%lo", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBinding("binding", s)
		if err != nil {
			if e, ok := err.(*app.Error); !ok || e.Field != "binding" || e.Status != 400 {
				t.Fatalf("%q: %#v", s, err)
			}
			return
		}
		if b.IsASN() == b.Prefix.IsValid() {
			t.Fatalf("%q: binding %#v is neither or both", s, b)
		}
		if !b.IsASN() && (b.Prefix.Bits() == 0 || b.Prefix.Masked() != b.Prefix || b.Prefix.Addr().Zone() != "" || b.Prefix.Addr().Is4In6()) {
			t.Fatalf("%q accepted as %s", s, b)
		}
		again, err := ParseBinding("binding", b.String())
		if err != nil || again != b {
			t.Fatalf("%q → %s does not round-trip: %v", s, b, err)
		}
	})
}
