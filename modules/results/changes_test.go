package results_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/results"
)

// scanAt records a completed scan of a template in the config database, as the scans module
// does when its last job completes, and its observations and coverage in results.
func scanAt(t *testing.T, srv *apptest.Server, dbs *apptest.DBs, tmpl, name string, finished time.Time, open ...uint16) string {
	t.Helper()
	ctx := context.Background()
	id, scanner, job := uuid.NewString(), uuid.NewString(), uuid.NewString()
	if _, err := srv.DBs.Config.Exec(ctx, `INSERT INTO scans (id, template_id, template_name, template_version, scope, mode, status,
		addresses, ports, probes, launched_by, created_at, started_at, finished_at)
		VALUES ($1, $2, $3, 1, '{}', 'pool', 'completed', 1, 10000, 10000, 'owner', $4, $4, $5)`,
		id, tmpl, name, finished.Add(-time.Minute), finished); err != nil {
		t.Fatal(err)
	}
	var obs []results.Observation
	for _, p := range open {
		obs = append(obs, results.Observation{Address: netip.MustParseAddr("127.0.0.1"), Port: p, ObservedAt: finished})
	}
	if _, err := results.Insert(ctx, dbs.ResultsDB(), results.Batch{JobID: job, ScanID: id, ScannerID: scanner, Seq: 1, Observations: obs}, finished); err != nil {
		t.Fatal(err)
	}
	var targets netset.Set
	targets.AddRange(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1"))
	ports, _ := portset.Parse("1-10000")
	if err := results.RecordCoverage(ctx, dbs.ResultsDB(), results.Coverage{JobID: job, ScanID: id, ScannerID: scanner, Targets: targets, Ports: ports, Status: "done", CompletedAt: finished}); err != nil {
		t.Fatal(err)
	}
	return id
}

// The changes of a week: each scan against its template's previous one (even one from before
// the window), nothing for a template's first scan; the export holds the same rows as the list.
func TestChangesOfAWindowAndTheirExportMatchTheList(t *testing.T) {
	dbs := apptest.Databases(t)
	clock := app.NewFakeClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	srv := apptest.Start(t, apptest.Config(t, dbs), dbs, app.Options{Clock: clock})
	owner := rbactest.Owner(t, srv)
	now := clock.Now()
	web, db := uuid.NewString(), uuid.NewString()
	scanAt(t, srv, dbs, web, "web", now.Add(-8*24*time.Hour), 22, 80)        // before the window: only compared with
	a2 := scanAt(t, srv, dbs, web, "web", now.Add(-2*24*time.Hour), 22, 443) // +443 −80
	a3 := scanAt(t, srv, dbs, web, "web", now.Add(-1*24*time.Hour), 22, 443, 8080)
	scanAt(t, srv, dbs, db, "db", now.Add(-3*24*time.Hour), 5432) // a first scan: nothing to compare

	var ch results.Changes
	r := owner.Get("/api/v1/results/changes")
	if r.Status != http.StatusOK {
		t.Fatalf("changes: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &ch)
	type k struct {
		kind, scan string
		port       int
	}
	var got []k
	for _, e := range ch.Items {
		got = append(got, k{e.Kind, e.ScanID, e.Port})
		if e.TemplateName != "web" || e.Address != "127.0.0.1" {
			t.Errorf("change %+v", e)
		}
	}
	want := []k{{"opened", a2, 443}, {"closed", a2, 80}, {"opened", a3, 8080}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("changes %+v, want %+v", got, want)
	}
	if ch.Scans != 3 || ch.Truncated || !ch.To.Equal(now) || !ch.From.Equal(now.Add(-7*24*time.Hour)) {
		t.Errorf("window %v–%v, %d scans", ch.From, ch.To, ch.Scans)
	}
	if len(ch.Days) != 8 { // 23 Nov 12:00 to 30 Nov 12:00 touches eight dates
		t.Fatalf("days %+v", ch.Days)
	}
	days := map[string]results.DayCount{}
	for _, d := range ch.Days {
		days[d.Day] = d
	}
	if d := days["2026-11-28"]; d.Opened != 1 || d.Closed != 1 {
		t.Errorf("28 Nov: %+v", d)
	}
	if d := days["2026-11-29"]; d.Opened != 1 || d.Closed != 0 {
		t.Errorf("29 Nov: %+v", d)
	}
	// Cut in another time zone, a change at 23:00 UTC... lands a day later in Tokyo.
	var tokyo results.Changes
	owner.Get("/api/v1/results/changes?tz=Asia/Tokyo").JSON(t, &tokyo)
	if tokyo.Days[len(tokyo.Days)-1].Day != "2026-11-30" || len(tokyo.Days) != 8 {
		t.Errorf("Tokyo days %+v", tokyo.Days)
	}

	// Filters.
	var closed results.Changes
	owner.Get("/api/v1/results/changes?kind=closed").JSON(t, &closed)
	if len(closed.Items) != 1 || closed.Items[0].Port != 80 {
		t.Errorf("kind=closed: %+v", closed.Items)
	}
	var narrow results.Changes
	q := url.Values{"from": {now.Add(-36 * time.Hour).Format(time.RFC3339)}, "port": {"8080"}, "subnet": {"127.0.0.1"}, "template": {web}}
	owner.Get("/api/v1/results/changes?"+q.Encode()).JSON(t, &narrow)
	if len(narrow.Items) != 1 || narrow.Items[0].ScanID != a3 || len(narrow.Days) != 2 {
		t.Errorf("narrowed: %+v %+v", narrow.Items, narrow.Days)
	}
	for _, bad := range []struct{ query, field string }{
		{"from=yesterday", "from"}, {"from=" + now.Format(time.RFC3339) + "&to=" + now.Add(-8*24*time.Hour).Format(time.RFC3339), "from"}, {"kind=moved", "kind"},
		{"port=70000", "port"}, {"subnet=10.0.0.0/33", "subnet"}, {"tz=Mars/Olympus", "tz"}, {"template=web", "template"},
		{"from=2020-01-01T00:00:00Z", "from"},
	} {
		if r := owner.Get("/api/v1/results/changes?" + bad.query); r.Status != http.StatusBadRequest || r.ErrorField() != bad.field {
			t.Errorf("%s: %d %s, want 400 naming %s", bad.query, r.Status, r.Body, bad.field)
		}
	}

	// The CSV export is the list, row for row.
	r = owner.Get("/api/v1/results/changes/export?format=csv")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: %d %v", r.Status, r.Header)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(ch.Items)+1 || len(recs[0]) != len(results.ChangeColumns) || recs[0][0] != "at" {
		t.Fatalf("csv %q", recs)
	}
	for i, e := range ch.Items {
		if row := e.Row(); !equal(recs[i+1], row) {
			t.Errorf("csv row %d %q, want %q", i+1, recs[i+1], row)
		}
	}
	var asJSON []results.ChangeEvent
	owner.Get("/api/v1/results/changes/export?format=json").JSON(t, &asJSON)
	if len(asJSON) != len(ch.Items) || asJSON[2] != ch.Items[2] {
		t.Errorf("json export %+v", asJSON)
	}
	if r := owner.Get("/api/v1/results/changes/export?format=xml"); r.Status != http.StatusBadRequest || r.ErrorField() != "format" {
		t.Errorf("format=xml: %d %s", r.Status, r.Body)
	}

	// A diff downloads as it shows.
	r = owner.Get("/api/v1/scans/" + a2 + "/diff/export")
	recs, _ = csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if r.Status != http.StatusOK || len(recs) != 3 || recs[1][0] != "opened" || recs[1][3] != "443" || recs[2][0] != "closed" || recs[2][3] != "80" {
		t.Errorf("diff export: %d %q", r.Status, recs)
	}
	var items []map[string]any
	owner.Get("/api/v1/scans/"+a2+"/diff/export?format=json").JSON(t, &items)
	if len(items) != 2 || items[0]["change"] != "opened" || items[0]["port"] != float64(443) {
		t.Errorf("diff json export %+v", items)
	}
	var audited int
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action IN ('results.changes_export', 'results.diff_export')`).Scan(&audited)
	if audited != 4 {
		t.Errorf("%d exports audited, want 4", audited)
	}

	// API answers are compressed for clients that accept it (a month of days makes it large
	// enough to be worth it).
	owner.Header.Set("Accept-Encoding", "gzip")
	r = owner.Get("/api/v1/results/changes?from=" + now.Add(-30*24*time.Hour).Format(time.RFC3339))
	owner.Header.Del("Accept-Encoding")
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("changes answer not compressed: %v", r.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var unzipped results.Changes
	if err := json.Unmarshal(plain, &unzipped); err != nil || len(unzipped.Items) != 3 {
		t.Errorf("decompressed: %v %s", err, plain)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
