package results_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"mipo/app"
	"mipo/modules/results"
)

func TestSearchReadsAddressesNetworksPortsAndServices(t *testing.T) {
	for q, want := range map[string]results.Search{
		"127.0.0.1":       {Kind: "address", Address: "127.0.0.1", Path: "/hosts/127.0.0.1"},
		" 10.1.2.3 ":      {Kind: "address", Address: "10.1.2.3", Path: "/hosts/10.1.2.3"},
		"2001:db8::5":     {Kind: "address", Address: "2001:db8::5", Path: "/hosts/2001:db8::5"},
		"::ffff:10.0.0.1": {Kind: "address", Address: "10.0.0.1", Path: "/hosts/10.0.0.1"},
		"10.0.0.9/32":     {Kind: "address", Address: "10.0.0.9", Path: "/hosts/10.0.0.9"},
		"10.1.0.0/16":     {Kind: "subnet", Subnet: "10.1.0.0/16", Path: "/open?subnet=10.1.0.0%2F16"},
		"2001:db8::/48":   {Kind: "subnet", Subnet: "2001:db8::/48", Path: "/open?subnet=2001%3Adb8%3A%3A%2F48"},
		"5432":            {Kind: "port", Port: 5432, Service: "postgresql", Path: "/open?ports=5432"},
		":22":             {Kind: "port", Port: 22, Service: "ssh", Path: "/open?ports=22"},
		"ssh":             {Kind: "service", Port: 22, Service: "ssh", Path: "/open?ports=22"},
		"HTTPS":           {Kind: "service", Port: 443, Service: "https", Path: "/open?ports=443"},
		"postgres":        {Kind: "service", Port: 5432, Service: "postgres", Path: "/open?ports=5432"},
	} {
		got, err := results.ParseSearch(q)
		want.Query = strings.TrimSpace(q)
		if err != nil || got != want {
			t.Errorf("ParseSearch(%q) = %+v, %v; want %+v", q, got, err, want)
		}
	}
	for _, q := range []string{"", "   ", "0", "65536", "10.1.0.1/16", "10.0.0.0/33", "fe80::1%eth0", "no-such-service", strings.Repeat("a", 101)} {
		_, err := results.ParseSearch(q)
		var e *app.Error
		if !errors.As(err, &e) || e.Field != "q" || e.Status != 400 {
			t.Errorf("ParseSearch(%q) = %v, want a 400 naming q", q, err)
		}
	}
}

func TestABareAddressIsItsOwnSubnet(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1/32", "::1": "::1/128", "10.0.0.0/8": "10.0.0.0/8", "::ffff:1.2.3.4": "1.2.3.4/32"} {
		p, err := results.ParseSubnet("subnet", in)
		if err != nil || p.String() != want {
			t.Errorf("ParseSubnet(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	if _, err := results.ParseSubnet("subnet", "10.0.0.1/8"); err == nil || !strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("a CIDR with host bits is refused with the fix: %v", err)
	}
}

// FuzzSearch: whatever is typed, the search answers a page to open or a 400 naming q; never a
// panic, and never a page outside the host and open-now pages.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1", "22", ":443", "ssh", "postgresql", "", "10.0.0.1/33", "x/y", "1.2.3.4/0",
		"fe80::1%lo", "65535", "-1", "１２３", "::ffff:1.2.3.4/128", "../admin", "%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		s, err := results.ParseSearch(q)
		if err != nil {
			var e *app.Error
			if !errors.As(err, &e) || e.Field != "q" || e.Status != 400 {
				t.Fatalf("ParseSearch(%q): %v is not a 400 naming q", q, err)
			}
			return
		}
		switch s.Kind {
		case results.SearchAddress:
			a, err := netip.ParseAddr(s.Address)
			if err != nil || s.Path != "/hosts/"+s.Address || a.Zone() != "" {
				t.Fatalf("ParseSearch(%q) = %+v", q, s)
			}
		case results.SearchSubnet:
			if _, err := netip.ParsePrefix(s.Subnet); err != nil || !strings.HasPrefix(s.Path, "/open?subnet=") {
				t.Fatalf("ParseSearch(%q) = %+v", q, s)
			}
		case results.SearchPort, results.SearchService:
			if s.Port < 1 || s.Port > 65535 || !strings.HasPrefix(s.Path, "/open?ports=") {
				t.Fatalf("ParseSearch(%q) = %+v", q, s)
			}
		default:
			t.Fatalf("ParseSearch(%q): unknown kind %q", q, s.Kind)
		}
	})
}
