package catalog

import (
	"strconv"
	"strings"
	"testing"
)

func TestPortDataParses(t *testing.T) {
	es, err := parsePorts(portsTSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 500 {
		t.Errorf("catalog has %d entries; it should cover several hundred ports", len(es))
	}
	seen := map[uint16]bool{}
	for _, e := range es {
		if seen[e.Port] {
			t.Errorf("port %d appears twice", e.Port)
		}
		seen[e.Port] = true
		if e.Name == "" || e.Description == "" {
			t.Errorf("port %d has an empty name or description", e.Port)
		}
	}
}

// The ports every operator expects the catalog to name, by the names
// results pages will show.
func TestWellKnownNames(t *testing.T) {
	want := map[uint16]string{
		22: "ssh", 25: "smtp", 53: "domain", 80: "http", 443: "https", 445: "microsoft-ds",
		1433: "ms-sql-s", 3306: "mysql", 3389: "ms-wbt-server", 5432: "postgresql", 5900: "vnc",
		6379: "redis", 8080: "http-alt", 9200: "elasticsearch", 27017: "mongodb",
	}
	for port, name := range want {
		e, ok := Lookup(port)
		if !ok || e.Name != name || e.Port != port {
			t.Errorf("Lookup(%d) = %+v, %v; want name %s", port, e, ok, name)
		}
	}
	if e, ok := Lookup(4); ok {
		t.Errorf("Lookup(4) = %+v; port 4 is unassigned", e)
	}
}

func TestParsePortsRejectsBadData(t *testing.T) {
	bad := map[string]string{
		"out of order": "80\thttp\tweb\n22\tssh\tshell\n",
		"duplicate":    "22\tssh\tshell\n22\tssh\tshell again\n",
		"port zero":    "0\treserved\tnothing\n",
		"too big":      "65536\tbig\ttoo big\n",
		"two fields":   "22\tssh\n",
		"empty name":   "22\t\tshell\n",
		"spaced name":  "22\tsecure shell\tshell\n",
		"empty desc":   "22\tssh\t\n",
	}
	for what, data := range bad {
		if _, err := parsePorts(data); err == nil {
			t.Errorf("%s: parsePorts accepted %q", what, data)
		}
	}
	es, err := parsePorts("# comment\n\n22\tssh\tSecure Shell\n")
	if err != nil || len(es) != 1 || es[0] != (Entry{22, "ssh", "Secure Shell"}) {
		t.Errorf("parsePorts(good) = %v, %v", es, err)
	}
}

func TestAllIsSortedCopy(t *testing.T) {
	all := All()
	for i := 1; i < len(all); i++ {
		if all[i-1].Port >= all[i].Port {
			t.Fatalf("All not in port order at %d", i)
		}
	}
	all[0].Name = "changed"
	if All()[0].Name == "changed" {
		t.Error("All returned the catalog itself, not a copy")
	}
}

func names(es []Entry) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Name)
	}
	return b.String()
}

func TestSearchOrder(t *testing.T) {
	// Exact name, then names starting with it in port order, then names
	// containing it, then descriptions.
	got := Search("SSH", 0)
	if len(got) < 4 || names(got[:4]) != "ssh sshell ssh-alt netconf-ssh" {
		t.Errorf("Search(SSH) = %s", names(got))
	}
	// Exact port first, then ports starting with the digits, in order.
	got = Search("80", 0)
	if len(got) < 3 || got[0].Port != 80 || got[1].Port != 800 || got[2].Port != 801 {
		t.Errorf("Search(80) starts %v", got[:min(3, len(got))])
	}
	// Port-prefix matches form one block in port order; looser matches
	// (a description mentioning 80) may only follow it.
	prefixDone := false
	for i := 1; i < len(got); i++ {
		isPrefix := strings.HasPrefix(strconv.Itoa(int(got[i].Port)), "80")
		if isPrefix && (prefixDone || got[i].Port < got[i-1].Port) {
			t.Errorf("Search(80): %d is out of place after %d", got[i].Port, got[i-1].Port)
		}
		prefixDone = prefixDone || !isPrefix
	}
	// The IANA name in a description finds the port known by another name.
	if got := Search("ncube-lm", 1); len(got) != 1 || got[0].Port != 1521 {
		t.Errorf("Search(ncube-lm) = %v", got)
	}
	if got := Search("remote desktop", 0); !containsPort(got, 3389) {
		t.Errorf("Search(remote desktop) misses 3389: %s", names(got))
	}
}

func TestSearchLimits(t *testing.T) {
	if got := Search("http", 3); len(got) != 3 || got[0].Name != "http" {
		t.Errorf("Search(http, 3) = %v", got)
	}
	if all := Search("http", 0); len(all) <= 3 {
		t.Errorf("Search(http, 0) = %d entries, want every match", len(all))
	}
	if got := Search("  ", 10); got != nil {
		t.Errorf("Search(blank) = %v, want nil", got)
	}
	if got := Search("no-such-service-anywhere", 10); len(got) != 0 {
		t.Errorf("Search(nonsense) = %v", got)
	}
}

func containsPort(es []Entry, port uint16) bool {
	for _, e := range es {
		if e.Port == port {
			return true
		}
	}
	return false
}
