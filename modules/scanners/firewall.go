package scanners

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"time"

	"mipo/app"
)

// Firewall allowlist formats.
const (
	FormatIPTables   = "iptables"
	FormatNginx      = "nginx"
	FormatCloudflare = "cloudflare"
)

// Formats lists the export formats.
var Formats = []string{FormatIPTables, FormatNginx, FormatCloudflare}

// ParseFormat reads the format parameter of an export.
func ParseFormat(s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case FormatIPTables, FormatNginx, FormatCloudflare:
		return f, nil
	case "":
		return "", app.Invalid("format", "required", "choose a format: iptables, nginx or cloudflare")
	default:
		return "", app.Invalid("format", "invalid_format", fmt.Sprintf("%q is not an export format: use iptables, nginx or cloudflare", app.Truncate(s, 32)))
	}
}

// FirewallQuery is the query of the allowlist export.
type FirewallQuery struct {
	Format string `query:"format" json:"format" doc:"iptables (shell commands for iptables and ip6tables), nginx (allow/deny) or cloudflare (IP Access Rules JSON)."`
}

// allowEntry is one enabled scanner's binding, resolved to what a firewall can match.
type allowEntry struct {
	Scanner  string
	Binding  Binding
	Prefixes []netip.Prefix // the binding's address blocks (an ASN's, from the database)
	Skipped  string         // why the binding could not be resolved to addresses
}

// maxASNPrefixes bounds how many of an ASN's networks an export lists.
const maxASNPrefixes = 10000

func allowlist(ctx context.Context, db app.Querier, asn *ASNDatabase) ([]allowEntry, error) {
	rows, err := db.Query(ctx, `SELECT name, binding FROM scanners WHERE NOT disabled ORDER BY lower(name), id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []allowEntry
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			return nil, err
		}
		e := allowEntry{Scanner: name}
		b, err := ParseBinding("binding", text)
		if err != nil {
			e.Skipped = "its binding " + text + " cannot be read"
			out = append(out, e)
			continue
		}
		e.Binding = b
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		e := &out[i]
		switch {
		case e.Skipped != "":
		case !e.Binding.IsASN():
			e.Prefixes = []netip.Prefix{e.Binding.Prefix}
		case asn == nil:
			e.Skipped = fmt.Sprintf("%s cannot be resolved to networks: no ASN database (MIPO_ASN_DATABASE)", e.Binding)
		default:
			ps, truncated, err := asn.Prefixes(e.Binding.ASN, maxASNPrefixes)
			switch {
			case err != nil:
				e.Skipped = fmt.Sprintf("%s cannot be resolved to networks: %v", e.Binding, err)
			case truncated:
				e.Skipped = fmt.Sprintf("%s has more than %d networks in the ASN database", e.Binding, maxASNPrefixes)
			case len(ps) == 0:
				e.Skipped = fmt.Sprintf("the ASN database lists no networks for %s", e.Binding)
			default:
				e.Prefixes = ps
			}
		}
	}
	return out, nil
}

// Export renders the allowlist of every enabled scanner in a format. It returns the body and
// its content type.
func Export(ctx context.Context, db app.Querier, asn *ASNDatabase, format string, now time.Time) ([]byte, string, error) {
	entries, err := allowlist(ctx, db, asn)
	if err != nil {
		return nil, "", err
	}
	switch format {
	case FormatIPTables:
		return renderIPTables(entries, now), "text/x-shellscript; charset=utf-8", nil
	case FormatNginx:
		return renderNginx(entries, now), "text/plain; charset=utf-8", nil
	case FormatCloudflare:
		b, err := renderCloudflare(entries, now)
		return b, "application/json", err
	}
	return nil, "", app.Invalid("format", "invalid_format", "use iptables, nginx or cloudflare")
}

// comment makes text safe inside a one-line comment of any of the formats.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\'' || r == '\\' || r == '`' || r == '$' || r == ';' {
			return '_'
		}
		return r
	}, s)
}

func header(b *bytes.Buffer, prefix string, entries []allowEntry, now time.Time) {
	n := 0
	for _, e := range entries {
		n += len(e.Prefixes)
	}
	fmt.Fprintf(b, "%s mipo scanner allowlist: %d enabled scanners, %d address blocks, generated %s\n",
		prefix, len(entries), n, now.UTC().Format(time.RFC3339))
	for _, e := range entries {
		if e.Skipped != "" {
			fmt.Fprintf(b, "%s skipped scanner %s: %s\n", prefix, comment(e.Scanner), comment(e.Skipped))
		}
	}
}

// renderIPTables writes shell commands that (re)fill a MIPO-SCANNERS chain in iptables and
// ip6tables; jump to it from INPUT (or wherever mipo's port is filtered).
func renderIPTables(entries []allowEntry, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("#!/bin/sh\n")
	header(&b, "#", entries, now)
	b.WriteString("# Fills the chain MIPO-SCANNERS; jump to it where mipo's port is filtered, e.g.\n")
	b.WriteString("#   iptables -I INPUT -p tcp --dport 443 -j MIPO-SCANNERS\n")
	b.WriteString("set -e\n")
	for _, cmd := range []string{"iptables", "ip6tables"} {
		fmt.Fprintf(&b, "%s -N MIPO-SCANNERS 2>/dev/null || %s -F MIPO-SCANNERS\n", cmd, cmd)
	}
	for _, e := range entries {
		for _, p := range e.Prefixes {
			cmd := "iptables"
			if p.Addr().Is6() {
				cmd = "ip6tables"
			}
			fmt.Fprintf(&b, "%s -A MIPO-SCANNERS -s %s -m comment --comment \"mipo scanner %s\" -j ACCEPT\n", cmd, p, comment(e.Scanner))
		}
	}
	return b.Bytes()
}

// renderNginx writes allow lines and a final deny all, for an http, server or location block.
func renderNginx(entries []allowEntry, now time.Time) []byte {
	var b bytes.Buffer
	header(&b, "#", entries, now)
	for _, e := range entries {
		for _, p := range e.Prefixes {
			target := p.String()
			if p.IsSingleIP() {
				target = p.Addr().String()
			}
			fmt.Fprintf(&b, "allow %s; # %s\n", target, comment(e.Scanner))
		}
	}
	b.WriteString("deny all;\n")
	return b.Bytes()
}

// CloudflareRule is one IP Access Rule, in the body shape of Cloudflare's API
// (POST …/firewall/access_rules/rules).
type CloudflareRule struct {
	Mode          string `json:"mode"`
	Configuration struct {
		Target string `json:"target"` // ip, ip_range or asn
		Value  string `json:"value"`
	} `json:"configuration"`
	Notes string `json:"notes"`
}

// CloudflareExport is the cloudflare format: the rules to create, one API call each, and the
// bindings that could not be expressed exactly (never widened).
type CloudflareExport struct {
	GeneratedAt time.Time        `json:"generated_at"`
	Rules       []CloudflareRule `json:"rules"`
	Skipped     []CloudflareSkip `json:"skipped"`
}

// CloudflareSkip is a binding the export left out, and why.
type CloudflareSkip struct {
	Scanner string `json:"scanner"`
	Binding string `json:"binding"`
	Reason  string `json:"reason"`
}

// maxCloudflareRules bounds how many rules one binding may be cut into.
const maxCloudflareRules = 4096

func renderCloudflare(entries []allowEntry, now time.Time) ([]byte, error) {
	out := CloudflareExport{GeneratedAt: now.UTC(), Rules: []CloudflareRule{}, Skipped: []CloudflareSkip{}}
	rule := func(target, value, scanner string) {
		r := CloudflareRule{Mode: "whitelist", Notes: "mipo scanner " + scanner}
		r.Configuration.Target, r.Configuration.Value = target, value
		out.Rules = append(out.Rules, r)
	}
	for _, e := range entries {
		switch {
		case e.Binding.IsASN(): // Cloudflare matches an ASN itself: no database needed
			rule("asn", e.Binding.String(), e.Scanner)
		case e.Skipped != "":
			out.Skipped = append(out.Skipped, CloudflareSkip{e.Scanner, e.Binding.String(), e.Skipped})
		default:
			for _, p := range e.Prefixes {
				parts, ok := cloudflareRanges(p)
				if !ok {
					out.Skipped = append(out.Skipped, CloudflareSkip{e.Scanner, e.Binding.String(),
						fmt.Sprintf("%s cannot be written exactly with Cloudflare's ranges (IPv4 /16 and /24, IPv6 /32, /48 and /64) in %d rules or fewer", p, maxCloudflareRules)})
					continue
				}
				for _, q := range parts {
					if q.IsSingleIP() {
						rule("ip", q.Addr().String(), e.Scanner)
					} else {
						rule("ip_range", q.String(), e.Scanner)
					}
				}
			}
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

// cloudflareRanges cuts a prefix into the range sizes Cloudflare accepts (IPv4 /16 and /24,
// IPv6 /32, /48 and /64) and single addresses, covering exactly the prefix: an allowlist is
// never widened. ok is false when that takes more than maxCloudflareRules rules.
func cloudflareRanges(p netip.Prefix) ([]netip.Prefix, bool) {
	p = p.Masked()
	sizes := []int{16, 24, 32}
	if p.Addr().Is6() {
		sizes = []int{32, 48, 64, 128}
	}
	// The largest accepted size that fits inside p.
	target := -1
	for _, s := range sizes {
		if s >= p.Bits() {
			target = s
			break
		}
	}
	if target < 0 {
		return nil, false
	}
	if target == p.Bits() {
		return []netip.Prefix{p}, true
	}
	if p.Addr().Is6() && target == 128 && p.Bits() < 120 { // would be more than 256 single addresses
		return nil, false
	}
	count := new(big.Int).Lsh(big.NewInt(1), uint(target-p.Bits()))
	if count.Cmp(big.NewInt(maxCloudflareRules)) > 0 {
		return nil, false
	}
	out := make([]netip.Prefix, 0, count.Int64())
	a := p.Addr()
	for i := int64(0); i < count.Int64(); i++ {
		q := netip.PrefixFrom(a, target)
		out = append(out, q)
		a = nextBlock(a, target)
	}
	return out, true
}

// nextBlock is the first address after the /bits block starting at a.
func nextBlock(a netip.Addr, bits int) netip.Addr {
	b := a.As16()
	total := 128
	if a.Is4() {
		total = 32
	}
	// Add 1 at bit position bits (counted from the top of the address).
	bit := (128 - total) + bits - 1
	for i := bit / 8; i >= 0; i-- {
		inc := byte(1)
		if i == bit/8 {
			inc = 1 << (7 - uint(bit%8))
		}
		old := b[i]
		b[i] += inc
		if b[i] > old {
			break
		}
	}
	if a.Is4() {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(b)
}
