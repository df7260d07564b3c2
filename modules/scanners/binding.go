package scanners

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"mipo/app"
)

// A Binding is where a scanner's requests may come from: one address, one CIDR block, or the
// networks of one autonomous system (looked up in the operator's ASN database). Every request a
// scanner makes is checked against it.
type Binding struct {
	Prefix netip.Prefix // an address is a /32 or /128; invalid for an ASN binding
	ASN    uint32       // non-zero for an ASN binding
}

// IsASN reports whether the binding names an autonomous system.
func (b Binding) IsASN() bool { return b.ASN != 0 }

// String is the binding's canonical text, which ParseBinding reads back: 192.0.2.10,
// 192.0.2.0/24, 2001:db8::/48 or AS64500.
func (b Binding) String() string {
	switch {
	case b.ASN != 0:
		return "AS" + strconv.FormatUint(uint64(b.ASN), 10)
	case !b.Prefix.IsValid():
		return ""
	case b.Prefix.IsSingleIP():
		return b.Prefix.Addr().String()
	default:
		return b.Prefix.String()
	}
}

// ParseBinding reads operator input for a binding. It is strict where leniency would widen
// what a scanner may connect from by surprise: a CIDR with host bits set, a zone, a prefix
// length out of range, or an ASN outside 1..4294967295 are errors naming the fix. field names
// the request field, for the error.
func ParseBinding(field, s string) (Binding, error) {
	in := strings.TrimSpace(s)
	bad := func(msg string) (Binding, error) {
		return Binding{}, app.Invalid(field, "invalid_binding", msg)
	}
	switch {
	case in == "":
		return bad("give a binding: an address (192.0.2.10), a CIDR (192.0.2.0/24) or an ASN (AS64500)")
	case len(in) > 64:
		return bad("a binding is at most 64 characters: an address, a CIDR or an ASN")
	case len(in) > 2 && strings.EqualFold(in[:2], "AS"):
		digits := in[2:]
		n, err := strconv.ParseUint(digits, 10, 32)
		if err != nil || n == 0 || digits[0] == '0' || digits[0] == '+' {
			return bad(fmt.Sprintf("%q is not an ASN: write AS followed by a number from 1 to 4294967295, such as AS64500", in))
		}
		return Binding{ASN: uint32(n)}, nil
	case strings.Contains(in, "%"):
		return bad(fmt.Sprintf("%q has a zone (%%…): a binding names addresses, not interfaces", in))
	case strings.Contains(in, "/"):
		p, err := netip.ParsePrefix(in)
		if err != nil {
			return bad(fmt.Sprintf("%q is not a CIDR such as 192.0.2.0/24 or 2001:db8::/48", in))
		}
		if p.Addr().Is4In6() {
			return bad(fmt.Sprintf("%q is an IPv4-mapped IPv6 prefix: write the IPv4 prefix instead", in))
		}
		if p.Masked() != p {
			return Binding{}, app.Invalid(field, "invalid_binding", fmt.Sprintf("%q has host bits set: did you mean %s?", in, p.Masked())).
				WithDetail(map[string]string{"suggestion": p.Masked().String()})
		}
		if p.Bits() == 0 {
			return bad(fmt.Sprintf("%q would allow every address: bind the scanner to its own address, network or ASN", in))
		}
		return Binding{Prefix: p}, nil
	default:
		a, err := netip.ParseAddr(in)
		if err != nil {
			return bad(fmt.Sprintf("%q is not an address, a CIDR or an ASN (such as 192.0.2.10, 192.0.2.0/24 or AS64500)", in))
		}
		if a.Is4In6() {
			a = a.Unmap()
		}
		return Binding{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
}

// BindingFor is the binding of exactly one address, given by a scanner's registration.
func BindingFor(a netip.Addr) Binding {
	a = a.Unmap()
	return Binding{Prefix: netip.PrefixFrom(a, a.BitLen())}
}

var errNoASNDatabase = errors.New("no ASN database is configured (MIPO_ASN_DATABASE), so an ASN binding cannot be checked")

// Allows reports whether a source address is inside the binding. For an ASN binding it asks
// the ASN database; without one, it refuses with an error saying so.
func (b Binding) Allows(source netip.Addr, asn *ASNDatabase) (bool, error) {
	source = source.Unmap()
	if !b.IsASN() {
		return b.Prefix.Contains(source), nil
	}
	if asn == nil {
		return false, errNoASNDatabase
	}
	got, err := asn.Lookup(source)
	if err != nil {
		return false, err
	}
	return got == b.ASN, nil
}
