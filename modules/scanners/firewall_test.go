package scanners

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func entriesFor(t *testing.T, bindings map[string]string) []allowEntry {
	var out []allowEntry
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		text, ok := bindings[name]
		if !ok {
			continue
		}
		b, err := ParseBinding("binding", text)
		if err != nil {
			t.Fatal(err)
		}
		e := allowEntry{Scanner: "scan-" + name, Binding: b}
		if b.IsASN() {
			e.Skipped = "AS cannot be resolved to networks: no ASN database"
		} else {
			e.Prefixes = []netip.Prefix{b.Prefix}
		}
		out = append(out, e)
	}
	return out
}

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func TestRenderers(t *testing.T) {
	es := entriesFor(t, map[string]string{"a": "192.0.2.10", "b": "198.51.100.0/24", "c": "2001:db8::/48", "d": "AS64500"})
	ipt := string(renderIPTables(es, now))
	for _, want := range []string{
		"#!/bin/sh\n",
		"iptables -N MIPO-SCANNERS 2>/dev/null || iptables -F MIPO-SCANNERS\n",
		`iptables -A MIPO-SCANNERS -s 192.0.2.10/32 -m comment --comment "mipo scanner scan-a" -j ACCEPT`,
		`iptables -A MIPO-SCANNERS -s 198.51.100.0/24 -m comment --comment "mipo scanner scan-b" -j ACCEPT`,
		`ip6tables -A MIPO-SCANNERS -s 2001:db8::/48 -m comment --comment "mipo scanner scan-c" -j ACCEPT`,
		"# skipped scanner scan-d: AS cannot be resolved",
	} {
		if !strings.Contains(ipt, want) {
			t.Errorf("iptables lacks %q:\n%s", want, ipt)
		}
	}
	ngx := string(renderNginx(es, now))
	if !strings.Contains(ngx, "allow 192.0.2.10; # scan-a\nallow 198.51.100.0/24; # scan-b\nallow 2001:db8::/48; # scan-c\ndeny all;\n") {
		t.Errorf("nginx:\n%s", ngx)
	}
	raw, err := renderCloudflare(es, now)
	if err != nil {
		t.Fatal(err)
	}
	var cf CloudflareExport
	if err := json.Unmarshal(raw, &cf); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range cf.Rules {
		if r.Mode != "whitelist" || !strings.HasPrefix(r.Notes, "mipo scanner ") {
			t.Errorf("rule %+v", r)
		}
		got[r.Configuration.Value] = r.Configuration.Target
	}
	want := map[string]string{"192.0.2.10": "ip", "198.51.100.0/24": "ip_range", "2001:db8::/48": "ip_range", "AS64500": "asn"}
	if len(got) != len(want) {
		t.Fatalf("cloudflare rules %v", got)
	}
	for v, target := range want {
		if got[v] != target {
			t.Errorf("cloudflare %s: %s, want %s", v, got[v], target)
		}
	}
}

func TestCloudflareRangesNeverWiden(t *testing.T) {
	for in, want := range map[string][]string{
		"198.51.100.0/24": {"198.51.100.0/24"},
		"10.0.0.0/23":     {"10.0.0.0/24", "10.0.1.0/24"},
		"192.0.2.8/30":    {"192.0.2.8/32", "192.0.2.9/32", "192.0.2.10/32", "192.0.2.11/32"},
		"10.0.0.0/15":     {"10.0.0.0/16", "10.1.0.0/16"},
		"2001:db8::/47":   {"2001:db8::/48", "2001:db8:1::/48"},
		"2001:db8::/126":  {"2001:db8::/128", "2001:db8::1/128", "2001:db8::2/128", "2001:db8::3/128"},
	} {
		got, ok := cloudflareRanges(netip.MustParsePrefix(in))
		if !ok || len(got) != len(want) {
			t.Errorf("%s: %v %v", in, got, ok)
			continue
		}
		for i := range want {
			if got[i].String() != want[i] {
				t.Errorf("%s[%d]: %s, want %s", in, i, got[i], want[i])
			}
		}
	}
	for _, in := range []string{"2001:db8::/100", "10.0.0.0/2"} {
		if got, ok := cloudflareRanges(netip.MustParsePrefix(in)); ok {
			t.Errorf("%s cut into %d rules", in, len(got))
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(strings.ToUpper(f)); err != nil || got != f {
			t.Errorf("%s: %s %v", f, got, err)
		}
	}
	for _, bad := range []string{"", "pf", "iptables;rm", strings.Repeat("x", 1000)} {
		if _, err := ParseFormat(bad); err == nil || !strings.Contains(err.Error(), "format") || len(err.Error()) > 200 {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"iptables", "NGINX", " cloudflare ", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFormat(s)
		if err == nil && got != FormatIPTables && got != FormatNginx && got != FormatCloudflare {
			t.Fatalf("%q → %q", s, got)
		}
	})
}

// The comment text of every format cannot break out of its line or quotes, whatever a
// scanner is called.
func FuzzExportComments(f *testing.F) {
	f.Add("scan-a")
	f.Add("a\"; rm -rf / #\n")
	f.Fuzz(func(t *testing.T, name string) {
		es := []allowEntry{{Scanner: name, Binding: Binding{Prefix: netip.MustParsePrefix("192.0.2.1/32")}, Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}}}
		ipt := string(renderIPTables(es, now))
		if strings.Count(ipt, "\n") != strings.Count(string(renderIPTables(entriesFor(t, map[string]string{"a": "192.0.2.1"}), now)), "\n") {
			t.Fatalf("a name broke the iptables lines:\n%s", ipt)
		}
		for _, line := range strings.Split(ipt, "\n") {
			if strings.HasPrefix(line, "iptables -A") && strings.Count(line, `"`) != 2 {
				t.Fatalf("a name broke the quoting: %s", line)
			}
		}
		if raw, err := renderCloudflare(es, now); err != nil || !json.Valid(raw) {
			t.Fatalf("cloudflare JSON: %v", err)
		}
	})
}
