package scanners_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"mipo/app"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"

	_ "mipo/modules/audit"
	_ "mipo/modules/ingest" // scanners register and report through the scanner API
	_ "mipo/modules/rbac"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

func TestFirewallExportsEveryEnabledScanner(t *testing.T) {
	asn := scannerstest.ASNDatabase(t, map[string]uint32{"203.0.113.0/24": 64500, "2001:db8:ffff::/48": 64500, "127.0.0.0/8": 64501})
	e := scannerstest.Start(t, map[string]string{"MIPO_ASN_DATABASE": asn})
	bindings := map[string]string{"edge-a": "192.0.2.10", "edge-b": "198.51.100.0/23", "edge-c": "2001:db8::/48", "edge-d": "AS64500", "edge-off": "192.0.2.99"}
	for _, name := range []string{"edge-a", "edge-b", "edge-c", "edge-d", "edge-off"} {
		reg, _ := e.Scanner(t, name)
		if r := e.Owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": bindings[name]}); r.Status != http.StatusOK {
			t.Fatal(r.Status, string(r.Body))
		}
		if name == "edge-off" {
			e.Owner.Post("/api/v1/scanners/"+reg.ScannerID+"/disable", nil)
		}
	}
	get := func(format string) string {
		t.Helper()
		r := e.Owner.Get("/api/v1/scanners/firewall?format=" + format)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", format, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "192.0.2.99") {
			t.Fatalf("%s exports a disabled scanner", format)
		}
		return string(r.Body)
	}
	ipt := get("iptables")
	for _, want := range []string{
		`iptables -A MIPO-SCANNERS -s 192.0.2.10/32 -m comment --comment "mipo scanner edge-a" -j ACCEPT`,
		`iptables -A MIPO-SCANNERS -s 198.51.100.0/23 -m comment --comment "mipo scanner edge-b" -j ACCEPT`,
		`ip6tables -A MIPO-SCANNERS -s 2001:db8::/48 -m comment --comment "mipo scanner edge-c" -j ACCEPT`,
		`iptables -A MIPO-SCANNERS -s 203.0.113.0/24 -m comment --comment "mipo scanner edge-d" -j ACCEPT`,
		`ip6tables -A MIPO-SCANNERS -s 2001:db8:ffff::/48 -m comment --comment "mipo scanner edge-d" -j ACCEPT`,
	} {
		if !strings.Contains(ipt, want) {
			t.Errorf("iptables lacks %s:\n%s", want, ipt)
		}
	}
	ngx := get("nginx")
	for _, want := range []string{"allow 192.0.2.10; # edge-a\n", "allow 198.51.100.0/23; # edge-b\n", "allow 2001:db8::/48; # edge-c\n",
		"allow 203.0.113.0/24; # edge-d\n", "allow 2001:db8:ffff::/48; # edge-d\n"} {
		if !strings.Contains(ngx, want) {
			t.Errorf("nginx lacks %q:\n%s", want, ngx)
		}
	}
	if !strings.HasSuffix(ngx, "deny all;\n") {
		t.Errorf("nginx does not end with deny all:\n%s", ngx)
	}
	var cf scanners.CloudflareExport
	if err := json.Unmarshal([]byte(get("cloudflare")), &cf); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, r := range cf.Rules {
		values = append(values, r.Configuration.Target+":"+r.Configuration.Value)
	}
	if got := strings.Join(values, " "); got != "ip:192.0.2.10 ip_range:198.51.100.0/24 ip_range:198.51.101.0/24 ip_range:2001:db8::/48 asn:AS64500" {
		t.Errorf("cloudflare rules: %s", got)
	}
	if r := e.Owner.Get("/api/v1/scanners/firewall?format=pf"); r.Status != http.StatusBadRequest || r.ErrorField() != "format" {
		t.Fatalf("an unknown format: %d %s", r.Status, r.Body)
	}
	if r := e.Owner.Get("/api/v1/scanners/firewall?format=nginx&download=true"); !strings.Contains(r.Header.Get("Content-Disposition"), "mipo-scanners-nginx.conf") {
		t.Fatalf("download: %v", r.Header)
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.firewall_export'`); n != 4 {
		t.Fatalf("%d exports audited, want 4", n)
	}
}
