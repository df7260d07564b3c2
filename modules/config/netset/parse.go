package netset

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseError says what is wrong with one piece of operator input, in
// words meant for that operator. Its fields stay separate so an API can
// return them as a structured error and a UI can offer the fix.
type ParseError struct {
	// Input is the offending text: a whole target, or for Parse the one
	// item of the list that failed. Empty when nothing was given at all.
	Input string
	// Offset is where Input starts in the string handed to the parser, in
	// bytes, so a UI can point at it.
	Offset int
	// Reason completes a sentence that starts with Input.
	Reason string
	// Suggestion is a corrected input that parses, or "" when there is no
	// obvious one.
	Suggestion string
}

func (e *ParseError) Error() string {
	msg := e.Reason
	if e.Input != "" {
		msg = e.Input + " " + msg
	}
	if e.Suggestion != "" {
		msg += "; did you mean " + e.Suggestion + "?"
	}
	return msg
}

// ParseCIDR reads a prefix such as 10.0.0.0/24 or 2001:db8::/32. It is
// strict where a lenient parser would widen or narrow a scope by
// surprise: host bits, zones and missing prefix lengths are errors that
// name the fix. An IPv4-mapped prefix of length 96 or more is returned as
// its IPv4 prefix.
func ParseCIDR(s string) (netip.Prefix, error) {
	in, off := trim(s)
	p, err := parseCIDR(in)
	if err != nil {
		if _, again := parseCIDR(err.Suggestion); again != nil {
			err.Suggestion = ""
		}
		err.Offset += off
		return netip.Prefix{}, err
	}
	return p, nil
}

// ParseTarget reads one scan target: an address (10.0.0.1), a CIDR
// (10.0.0.0/24, as strict as ParseCIDR) or an inclusive range of two
// addresses of one family (10.0.0.1-10.0.0.20, spaces allowed around the
// dash).
func ParseTarget(s string) (Set, error) {
	in, off := trim(s)
	var set Set
	is4, sp, err := parseTarget(in)
	if err != nil {
		err.Offset += off
		return set, err
	}
	*set.family(is4) = spans{sp}
	return set, nil
}

// Parse reads a list of targets separated by commas or new lines, as an
// operator pastes it, and returns their union. Empty items are skipped;
// a list with no target at all is an error. The first bad item fails the
// whole list, with Offset pointing at it.
func Parse(s string) (Set, error) {
	var v4, v6 []span
	for start := 0; start <= len(s); {
		end := strings.IndexAny(s[start:], ",\n")
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		item, off := trim(s[start:end])
		if item != "" {
			is4, sp, err := parseTarget(item)
			if err != nil {
				err.Offset += start + off
				return Set{}, err
			}
			if is4 {
				v4 = append(v4, sp)
			} else {
				v6 = append(v6, sp)
			}
		}
		start = end + 1
	}
	if len(v4) == 0 && len(v6) == 0 {
		return Set{}, &ParseError{Reason: "no target given"}
	}
	return Set{v4: normalize(v4), v6: normalize(v6)}, nil
}

// trim strips surrounding white space and says how much it cut from the
// front, so offsets still point into the caller's string.
func trim(s string) (string, int) {
	t := strings.TrimLeft(s, " \t\r\n")
	return strings.TrimRight(t, " \t\r\n"), len(s) - len(t)
}

// parseTarget reads one target. A suggestion that would itself be refused
// is dropped: a fix must never lead the operator into a second error.
func parseTarget(in string) (bool, span, *ParseError) {
	is4, sp, err := parseTargetText(in)
	if err != nil && err.Suggestion != "" {
		if _, _, again := parseTargetText(err.Suggestion); again != nil {
			err.Suggestion = ""
		}
	}
	return is4, sp, err
}

func parseTargetText(in string) (bool, span, *ParseError) {
	if in == "" {
		return false, span{}, &ParseError{Reason: "no target given"}
	}
	if first, last, ok := strings.Cut(in, "-"); ok {
		return parseRange(in, first, last)
	}
	if strings.Contains(in, "/") {
		p, err := parseCIDR(in)
		if err != nil {
			return false, span{}, err
		}
		return prefixSpan(p)
	}
	a, reason, fix := parseAddr(in)
	if reason != "" {
		return false, span{}, &ParseError{Input: in, Reason: reason, Suggestion: fix}
	}
	x := u128From(a)
	return a.Is4(), span{x, x}, nil
}

func parseRange(in, firstText, lastText string) (bool, span, *ParseError) {
	firstText, lastText = strings.TrimSpace(firstText), strings.TrimSpace(lastText)
	first, perr := parseRangeEnd(in, firstText, "start", func(fix string) string { return fix + "-" + lastText })
	if perr != nil {
		return false, span{}, perr
	}
	last, perr := parseRangeEnd(in, lastText, "end", func(fix string) string { return firstText + "-" + fix })
	if perr != nil {
		return false, span{}, perr
	}
	return rangeSpan(first, last, in)
}

// parseRangeEnd reads one end of a range; rebuild turns a fix for that
// end into a fix for the whole range.
func parseRangeEnd(in, text, which string, rebuild func(string) string) (netip.Addr, *ParseError) {
	fail := func(reason, fix string) (netip.Addr, *ParseError) {
		if fix != "" {
			fix = rebuild(fix)
		}
		return netip.Addr{}, &ParseError{Input: in, Reason: reason, Suggestion: fix}
	}
	switch {
	case text == "":
		return fail("has no "+which+" address", "")
	case strings.Contains(text, "/"):
		return fail("has a CIDR as its "+which+"; a range joins two single addresses", "")
	}
	a, reason, fix := parseAddr(text)
	if reason != "" {
		return fail("has "+which+" address "+text+", which "+reason, fix)
	}
	return a, nil
}

// parseAddr reads a single address. On failure it returns a reason that
// completes a sentence about the text, and a fix when there is one.
func parseAddr(text string) (a netip.Addr, reason, fix string) {
	if strings.ContainsAny(text, " \t\r") {
		return a, "contains a space; separate targets with commas or new lines", ""
	}
	if strings.Contains(text, "%") {
		fix := dropZone(text)
		if _, r, _ := parseAddr(fix); r != "" {
			fix = ""
		}
		return a, "has an interface zone, which scan targets must not have", fix
	}
	a, err := netip.ParseAddr(text)
	if err != nil && looksLikeHostName(text) {
		return a, "is a host name; scan targets are IP addresses", ""
	}
	if err != nil {
		return a, "is not a valid IP address" + netipDetail(err), ""
	}
	return a.Unmap(), "", ""
}

// looksLikeHostName catches the common mistake of typing a DNS name:
// dotted words with a letter that no IPv4 address has, and no colon.
func looksLikeHostName(text string) bool {
	return strings.Contains(text, ".") && !strings.Contains(text, ":") &&
		strings.ContainsFunc(text, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
}

// netipDetail keeps the useful tail of a net/netip error, such as
// "IPv4 field has value >255", and drops the generic one.
func netipDetail(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		msg = msg[i+3:]
	}
	if msg == "unable to parse IP" {
		return ""
	}
	return " (" + msg + ")"
}

func parseCIDR(in string) (netip.Prefix, *ParseError) {
	fail := func(reason, fix string) (netip.Prefix, *ParseError) {
		return netip.Prefix{}, &ParseError{Input: in, Reason: reason, Suggestion: fix}
	}
	if in == "" {
		return fail("no CIDR given", "")
	}
	addrText, bitsText, ok := strings.Cut(in, "/")
	if strings.Contains(addrText, "%") {
		return fail("has an interface zone, which scan targets must not have",
			suggestCIDR(strings.Replace(in, addrText, dropZone(addrText), 1)))
	}
	a, reason, _ := parseAddr(addrText)
	if reason != "" {
		if !ok {
			return fail("is not a CIDR (an address, a slash and a prefix length, as in 10.0.0.0/24)", "")
		}
		return fail("has an address that "+reason, "")
	}
	if !ok {
		return fail("has no prefix length", fmt.Sprintf("%s/%d", a, a.BitLen()))
	}
	// Check the length against the family as written: an IPv4-mapped
	// address takes IPv6 lengths, 96 of which are the mapping itself.
	written, _ := netip.ParseAddr(addrText)
	bits, reason, fix := parseBits(bitsText, written.BitLen())
	if reason != "" {
		if fix != "" {
			fix = suggestCIDR(addrText + "/" + fix)
		}
		return fail(reason, fix)
	}
	if written.Is4In6() {
		if bits < 96 {
			return fail("has an IPv4-mapped address with a prefix length below 96, which reaches outside the mapped IPv4 space", "")
		}
		bits -= 96
	}
	p := netip.PrefixFrom(a, bits)
	if m := p.Masked(); m != p {
		return fail("has host bits set", m.String())
	}
	return p, nil
}

// parseBits reads a prefix length of an address family with maxBits bits.
func parseBits(text string, maxBits int) (bits int, reason, fix string) {
	if text == "" {
		return 0, "has no prefix length after the slash", ""
	}
	if strings.Trim(text, "0123456789") != "" {
		return 0, "has a prefix length that is not a number", ""
	}
	n, err := strconv.Atoi(text)
	if err != nil || n > maxBits {
		return 0, fmt.Sprintf("has prefix length %s, but IPv%d allows 0 to %d", text, familyNumber(maxBits), maxBits), ""
	}
	if len(text) > 1 && text[0] == '0' {
		return 0, "has a prefix length with a leading zero", strconv.Itoa(n)
	}
	return n, "", ""
}

func familyNumber(bits int) int {
	if bits == 32 {
		return 4
	}
	return 6
}

func dropZone(addr string) string {
	a, _, _ := strings.Cut(addr, "%")
	return a
}

// suggestCIDR returns the canonical form of a corrected input, or the fix
// its own error proposes, so a suggestion is always something that parses.
func suggestCIDR(fixed string) string {
	p, err := parseCIDR(fixed)
	if err != nil {
		return err.Suggestion
	}
	return p.String()
}

// prefixSpan validates p and converts it to an interval.
func prefixSpan(p netip.Prefix) (bool, span, *ParseError) {
	if !p.IsValid() {
		return false, span{}, &ParseError{Input: p.String(), Reason: "is not a valid prefix"}
	}
	p = p.Masked()
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		a = p.Addr()
	}
	first := u128From(a)
	return a.Is4(), span{first, first.add(lowMask(a.BitLen() - p.Bits()))}, nil
}

// rangeSpan validates the ends of a range and converts it to an interval.
// input is how the range is shown in errors.
func rangeSpan(first, last netip.Addr, input string) (bool, span, *ParseError) {
	fail := func(reason, fix string) (bool, span, *ParseError) {
		return false, span{}, &ParseError{Input: input, Reason: reason, Suggestion: fix}
	}
	if !first.IsValid() || !last.IsValid() {
		return fail("is missing an address", "")
	}
	if first.Zone() != "" || last.Zone() != "" {
		f, l := first.WithZone(""), last.WithZone("")
		fix := f.String() + "-" + l.String()
		if _, _, again := rangeSpan(f, l, fix); again != nil {
			fix = ""
		}
		return fail("has an interface zone, which scan targets must not have", fix)
	}
	first, last = first.Unmap(), last.Unmap()
	if first.Is4() != last.Is4() {
		return fail("mixes IPv4 and IPv6 addresses", "")
	}
	if last.Less(first) {
		return fail("starts after it ends", last.String()+"-"+first.String())
	}
	return first.Is4(), span{u128From(first), u128From(last)}, nil
}
