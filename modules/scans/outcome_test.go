package scans

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"mipo/app/apptest"
)

// runOutcome launches a template, has scanner a report the given open ports, and completes it,
// waiting until its outcome has been worked out.
func (f *fixture) runOutcome(a *scanner, tmpl string, open ...string) *Scan {
	f.t.Helper()
	s := f.launch(map[string]any{"template_id": tmpl})[0]
	f.tick()
	job := a.lease(f.t)
	if job == nil {
		f.t.Fatal("the scanner got no job")
	}
	f.clock.Advance(10 * time.Second)
	a.progress(f.t, job.Job.ID, 4, 12)
	a.finish(f.t, job.Job.ID, open...)
	f.tick()
	var got *Scan
	apptest.WaitFor(f.t, 20*time.Second, "the scan's outcome", func() bool {
		got = f.detail(s.ID).Scan
		return got.OpenPorts != nil
	})
	f.clock.Advance(time.Minute)
	return got
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// A completed scan carries its outcome: its open ports, and what opened and closed against the
// previous scan of its template; the first scan has nothing to compare with, and its diff says
// so with a 409 the UI shows as "nothing to compare yet". Open now, the host page and the
// search read the same scans.
func TestScansCarryTheirOutcomeAndOpenNowFollowsTheLatestScan(t *testing.T) {
	f := newFixture(t)
	a := f.scanner("scanner-a", 1000)
	tmpl := f.template("web", "127.0.0.0/30", "22,80,443", "pool", a.id)

	first := f.runOutcome(a, tmpl, "127.0.0.1:22", "127.0.0.2:80")
	if *first.OpenPorts != 2 || first.Opened != nil || first.Closed != nil || first.ComparedWith != nil || !first.FirstScan || first.Trigger != "manual" {
		t.Fatalf("first scan's outcome: open %v opened %v closed %v compared %v first %v trigger %q",
			deref(first.OpenPorts), deref(first.Opened), deref(first.Closed), first.ComparedWith, first.FirstScan, first.Trigger)
	}
	r := f.owner.Get("/api/v1/scans/" + first.ID + "/diff")
	if r.Status != http.StatusConflict || r.ErrorCode() != "no_earlier_scan" {
		t.Fatalf("the first scan's diff: %d %s", r.Status, r.Body)
	}
	d := f.detail(first.ID)
	if d.Progress.RatePerSecond <= 0 || d.Progress.ETA == nil || !d.Progress.ETA.Equal(*d.Scan.FinishedAt) {
		t.Fatalf("a completed scan's rate and end: %+v", d.Progress)
	}

	second := f.runOutcome(a, tmpl, "127.0.0.1:22", "127.0.0.1:443")
	if *second.OpenPorts != 2 || deref(second.Opened) != 1 || deref(second.Closed) != 1 || second.ComparedWith == nil || *second.ComparedWith != first.ID || second.FirstScan {
		t.Fatalf("second scan's outcome: open %v opened %v closed %v compared %v", deref(second.OpenPorts), deref(second.Opened), deref(second.Closed), second.ComparedWith)
	}
	var list struct{ Items []Scan }
	f.owner.Get("/api/v1/scans?template="+tmpl).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != second.ID || deref(list.Items[0].Opened) != 1 || deref(list.Items[1].OpenPorts) != 2 {
		t.Fatalf("the scans list's outcomes: %+v", list.Items)
	}
	var raw map[string]any
	f.owner.Get("/api/v1/scans/"+second.ID).JSON(t, &raw)
	scan := raw["scan"].(map[string]any)
	for _, k := range []string{"open_ports", "opened", "closed", "compared_with", "trigger", "first_scan"} {
		if _, ok := scan[k]; !ok {
			t.Errorf("scan JSON lacks %s", k)
		}
	}

	// Open now: what the latest scan found, one row per scanner, address and port.
	type openPage struct {
		Items []struct {
			Address, Service string
			ScannerID        string `json:"scanner_id"`
			ScanID           string `json:"scan_id"`
			Port             int
			FirstSeen        time.Time `json:"first_seen"`
			LastSeen         time.Time `json:"last_seen"`
		}
		NextCursor string `json:"next_cursor"`
	}
	var open openPage
	f.owner.Get("/api/v1/results/open").JSON(t, &open)
	if len(open.Items) != 2 || open.Items[0].Address != "127.0.0.1" || open.Items[0].Port != 22 || open.Items[1].Port != 443 ||
		open.Items[0].ScannerID != a.id || open.Items[0].ScanID != second.ID || open.Items[0].Service != "ssh" {
		t.Fatalf("open now: %+v", open.Items)
	}
	if !open.Items[0].FirstSeen.Before(open.Items[0].LastSeen) {
		t.Errorf("port 22 was first seen in the first scan: first %s, last %s", open.Items[0].FirstSeen, open.Items[0].LastSeen)
	}
	for q, want := range map[string]string{
		"subnet=127.0.0.1":          "127.0.0.1:22 127.0.0.1:443", // a bare address is that one host
		"subnet=127.0.0.2":          "",                           // closed since
		"subnet=127.0.0.0/30":       "127.0.0.1:22 127.0.0.1:443",
		"ports=443":                 "127.0.0.1:443",
		"sort=-port":                "127.0.0.1:443 127.0.0.1:22",
		"template=" + tmpl:          "127.0.0.1:22 127.0.0.1:443",
		"scanner=" + a.id:           "127.0.0.1:22 127.0.0.1:443",
		"limit=1":                   "127.0.0.1:22",
		"sort=-first_seen&limit=10": "127.0.0.1:443 127.0.0.1:22",
	} {
		var p openPage
		r := f.owner.Get("/api/v1/results/open?" + q)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
		r.JSON(t, &p)
		var got []string
		for _, o := range p.Items {
			got = append(got, o.Address+":"+itoa(o.Port))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("open now ?%s = %q, want %q", q, strings.Join(got, " "), want)
		}
		if q == "limit=1" && p.NextCursor == "" {
			t.Error("a short page has no next cursor")
		}
	}
	for q, field := range map[string]string{"subnet=127.0.0.1/33": "subnet", "ports=70000": "ports", "scanner=x": "scanner", "template=x": "template",
		"group=x": "group", "group=" + a.id: "group", "sort=service": "sort"} {
		if r := f.owner.Get("/api/v1/results/open?" + q); r.Status != http.StatusBadRequest || r.ErrorField() != field {
			t.Errorf("open now ?%s: %d %s, want a 400 naming %s", q, r.Status, r.Body, field)
		}
	}

	// The exports hold every matching row.
	r = f.owner.Get("/api/v1/results/open/export?format=csv&subnet=127.0.0.1")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV export: %d %s", r.Status, r.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "address,port,service,scanner_id,first_seen,last_seen,scan_id" || rows[2][1] != "443" {
		t.Fatalf("CSV export: %v %v", rows, err)
	}
	r = f.owner.Get("/api/v1/results/open/export?format=json&ports=22")
	var items []map[string]any
	if err := json.Unmarshal(r.Body, &items); err != nil || len(items) != 1 || items[0]["port"] != float64(22) {
		t.Fatalf("JSON export: %s %v", r.Body, err)
	}
	if r := f.owner.Get("/api/v1/results/open/export?format=xml"); r.Status != http.StatusBadRequest || r.ErrorField() != "format" {
		t.Errorf("export as xml: %d %s", r.Status, r.Body)
	}

	// The host page: per scanner, every port ever seen open, with its spans.
	var host struct {
		Address  string
		Scans    int
		Open     int
		Scanners []struct {
			ScannerID string `json:"scanner_id"`
			Ports     []struct {
				Port  int
				Spans []struct {
					ClosedAt   *time.Time `json:"closed_at"`
					ClosedScan string     `json:"closed_scan"`
				}
			}
		}
	}
	f.owner.Get("/api/v1/results/host?address=127.0.0.2").JSON(t, &host)
	if host.Scans != 2 || host.Open != 0 || len(host.Scanners) != 1 || host.Scanners[0].ScannerID != a.id || len(host.Scanners[0].Ports) != 1 ||
		host.Scanners[0].Ports[0].Port != 80 || host.Scanners[0].Ports[0].Spans[0].ClosedScan != second.ID {
		t.Fatalf("host 127.0.0.2: %+v", host)
	}
	f.owner.Get("/api/v1/results/host?address=127.0.0.1").JSON(t, &host)
	if host.Open != 2 || len(host.Scanners[0].Ports) != 2 || host.Scanners[0].Ports[1].Spans[0].ClosedAt != nil {
		t.Fatalf("host 127.0.0.1: %+v", host)
	}
	if r := f.owner.Get("/api/v1/results/host?address=127.0.0.1/32"); r.Status != http.StatusBadRequest || r.ErrorField() != "address" {
		t.Errorf("host of a CIDR: %d %s", r.Status, r.Body)
	}

	// Search lands each kind of query on its page.
	for q, path := range map[string]string{"127.0.0.1": "/hosts/127.0.0.1", "127.0.0.0/8": "/open?subnet=127.0.0.0%2F8", "5432": "/open?ports=5432",
		"postgresql": "/open?ports=5432", "SSH": "/open?ports=22", "::ffff:127.0.0.1": "/hosts/127.0.0.1", "10.0.0.1/32": "/hosts/10.0.0.1"} {
		var s struct{ Path string }
		r := f.owner.Get("/api/v1/search?q=" + urlQuery(q))
		r.JSON(t, &s)
		if r.Status != http.StatusOK || s.Path != path {
			t.Errorf("search %q: %d %s, want %s", q, r.Status, r.Body, path)
		}
	}
	if r := f.owner.Get("/api/v1/search?q=nonsense-service"); r.Status != http.StatusBadRequest || r.ErrorField() != "q" {
		t.Errorf("search for nonsense: %d %s", r.Status, r.Body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func urlQuery(s string) string { return url.QueryEscape(s) }
