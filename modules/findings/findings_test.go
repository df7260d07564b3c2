package findings

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A finding opens on an unexpected port, stays open through scans that did not probe it, closes
// on a scan that probed it and saw it closed, and comes back as a new occurrence.
func TestFindingOpensClosesOnlyOnCoveringScanAndReopens(t *testing.T) {
	f := newFixture(t, "manager")
	f.baseline(map[string]any{"name": "lab", "scope_kind": "cidr", "scope_ref": "10.9.0.0/24", "mode": "allow", "ports": "22"})

	s1 := f.scanResults("10.9.0.0/24", "1-1024", "10.9.0.5:22", "10.9.0.5:80", "192.0.2.1:80")
	out := f.judge(s1)
	if len(out.Opened) != 1 || out.Opened[0].Port != 80 || out.Opened[0].Address != "10.9.0.5" {
		t.Fatalf("want one finding, 10.9.0.5:80 (22 is allowed, 192.0.2.1 has no baseline), got %+v", out.Opened)
	}
	first := f.one("address=10.9.0.5")
	if first.State != StateOpen || first.Occurrence != 1 || first.FirstScanID != s1 {
		t.Fatalf("new finding: %+v", first)
	}
	if again := f.judge(s1); len(again.Opened)+len(again.Reopened) != 0 {
		t.Fatalf("judging the same scan twice must open nothing, got %+v", again)
	}

	// Did not cover the address; covered the address but not the port: neither closes it.
	f.judge(f.scanResults("10.9.0.128/25", "1-1024"))
	f.judge(f.scanResults("10.9.0.0/24", "443"))
	if got := f.one("address=10.9.0.5"); got.State != StateOpen {
		t.Fatalf("a scan that did not probe 10.9.0.5:80 closed its finding: %+v", got)
	}

	// Probed it and found it closed: the finding closes, naming the scan.
	s4 := f.scanResults("10.9.0.0/24", "1-1024", "10.9.0.5:22")
	if out := f.judge(s4); out.Closed != 1 {
		t.Fatalf("closed = %d, want 1", out.Closed)
	}
	closed := f.one("address=10.9.0.5&state=closed")
	if closed.ClosedScanID == nil || *closed.ClosedScanID != s4 {
		t.Fatalf("closed finding: %+v", closed)
	}

	// It comes back: a new occurrence, the old one stays closed.
	s5 := f.scanResults("10.9.0.0/24", "1-1024", "10.9.0.5:80")
	if out := f.judge(s5); len(out.Reopened) != 1 || out.Reopened[0].Occurrence != 2 {
		t.Fatalf("want the finding back as occurrence 2, got %+v", out)
	}
	if p := f.findings("address=10.9.0.5&state=open"); len(p.Items) != 1 || p.Items[0].Occurrence != 2 || p.Items[0].ID == first.ID {
		t.Fatalf("open findings: %s", describe(p.Items))
	}

	// The host page's view: the baseline that applies, and the history of both occurrences.
	p := f.findings("address=10.9.0.5")
	if p.Address == nil || !p.Address.Applies || p.Address.Allowed != "22" || len(p.Address.Baselines) != 1 || p.Address.Baselines[0].Name != "lab" {
		t.Fatalf("address view: %+v", p.Address)
	}
	var actions []string
	for _, e := range p.Address.History {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "opened,closed,reopened" {
		t.Fatalf("history = %v", actions)
	}
}

// Scope checks, and bad input naming its field and changing nothing.
func TestBaselineInputIsChecked(t *testing.T) {
	f := newFixture(t, "manager")
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "scope_kind": "cidr", "scope_ref": "10.0.0.0/33"}, "scope_ref"},
		{map[string]any{"name": "x", "scope_kind": "planet", "scope_ref": "10.0.0.0/8"}, "scope_kind"},
		{map[string]any{"name": "x", "scope_kind": "address", "scope_ref": "10.0.0.1", "ports": "70000"}, "ports"},
		{map[string]any{"name": "x", "scope_kind": "address", "scope_ref": "10.0.0.1", "mode": "nothing", "ports": "22"}, "ports"},
		{map[string]any{"name": "x", "scope_kind": "subnet", "scope_ref": "8a1f2b9e-8d0c-4f55-9c57-2f7e1d6e2c11"}, "scope_ref"},
		{map[string]any{"name": "", "scope_kind": "cidr", "scope_ref": "10.0.0.0/8"}, "name"},
	} {
		r := f.owner.Post("/api/v1/baselines", c.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"`+c.field+`"`) {
			t.Errorf("%v: want 400 naming %s, got %d %s", c.body, c.field, r.Status, r.Body)
		}
	}
	var n int
	f.svc.Config.QueryRow(context.Background(), `SELECT count(*) FROM baselines`).Scan(&n)
	if n != 0 {
		t.Fatalf("refused input stored %d baselines", n)
	}
	// Versions: a change is a new version, and the delete keeps the history.
	b := f.baseline(map[string]any{"name": "v", "scope_kind": "address", "scope_ref": "10.0.0.1", "ports": "22"})
	if r := f.owner.Put("/api/v1/baselines/"+b.ID, map[string]any{"name": "v", "scope_kind": "address", "scope_ref": "10.0.0.1", "mode": "nothing"}); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	if r := f.owner.Delete("/api/v1/baselines/" + b.ID); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	var vs struct{ Items []BaselineVersion }
	f.owner.Get("/api/v1/baselines/"+b.ID+"/versions").JSON(t, &vs)
	if len(vs.Items) != 3 || vs.Items[1].Body.Mode != ModeNothing || vs.Items[2].Body != nil {
		t.Fatalf("versions: %+v", vs.Items)
	}
	if f.auditCount("baseline.update", b.ID) != 1 || f.auditCount("baseline.delete", b.ID) != 1 {
		t.Fatal("baseline changes are not audited")
	}
}

// Accepting with an expiry: the next scan keeps it accepted; after the expiry (the test's
// clock) it is open again, audited with its state before and after.
func TestAcceptanceExpiresAndReopens(t *testing.T) {
	f := newFixture(t, "manager")
	f.baseline(map[string]any{"name": "dmz", "scope_kind": "cidr", "scope_ref": "10.6.0.0/24", "mode": "nothing"})
	f.judge(f.scanResults("10.6.0.0/24", "1-1024", "10.6.0.9:8080", "10.6.0.9:21"))
	fd := f.one("address=10.6.0.9&port=8080")

	if r := f.owner.Post("/api/v1/findings/"+fd.ID+"/triage", map[string]any{"action": "accept"}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"field":"reason"`) {
		t.Fatalf("accept without a reason: %d %s", r.Status, r.Body)
	}
	if got := f.one("address=10.6.0.9&port=8080"); got.State != StateOpen || f.auditCount("finding.accept", fd.ID) != 0 {
		t.Fatalf("a refused decision changed the finding: %+v", got)
	}
	expires := f.clock.Now().Add(time.Hour)
	r := f.owner.Post("/api/v1/findings/"+fd.ID+"/triage", map[string]any{"action": "accept", "reason": "vendor appliance, ticket OPS-12", "expires_at": expires})
	if r.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	var acc Finding
	r.JSON(t, &acc)
	if acc.State != StateAccepted || acc.AcceptedBy != "owner" || acc.AcceptReason == "" || acc.AcceptedAt == nil {
		t.Fatalf("accepted: %+v", acc)
	}
	f.judge(f.scanResults("10.6.0.0/24", "1-1024", "10.6.0.9:8080", "10.6.0.9:21"))
	if got := f.one("address=10.6.0.9&port=8080"); got.State != StateAccepted || got.LastScanID == fd.FirstScanID {
		t.Fatalf("the next scan must keep it accepted and bump it: %+v", got)
	}
	if n, _ := f.svc.ExpireAcceptances(context.Background()); n != 0 {
		t.Fatalf("expired %d before the expiry", n)
	}
	f.clock.Advance(2 * time.Hour)
	if n, err := f.svc.ExpireAcceptances(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if got := f.one("address=10.6.0.9&port=8080"); got.State != StateOpen {
		t.Fatalf("after the expiry: %+v", got)
	}
	var before, after string
	f.svc.Config.QueryRow(context.Background(), `SELECT diff::text, coalesce(detail::text, '') FROM audit_log WHERE action = 'finding.acceptance_expired' AND resource_id = $1`,
		fd.ID).Scan(&before, &after)
	if !strings.Contains(before, "accepted") || !strings.Contains(before, "open") {
		t.Fatalf("the expiry's audit record must show the state before and after, got %s", before)
	}

	// Bulk: mark every open finding of the address a risk, by filter.
	r = f.owner.Post("/api/v1/findings/triage", map[string]any{"filter": map[string]any{"address": "10.6.0.9", "state": "open"}, "action": "risk", "severity": "major"})
	var bulk BulkResult
	r.JSON(t, &bulk)
	if r.Status != http.StatusOK || bulk.Changed != 2 {
		t.Fatalf("bulk: %d %s", r.Status, r.Body)
	}
	if p := f.findings("state=risk"); len(p.Items) != 2 || *p.Items[0].Severity != "major" {
		t.Fatalf("after bulk: %s", describe(p.Items))
	}
	if r := f.owner.Post("/api/v1/findings/triage", map[string]any{"filter": map[string]any{"subnet": "nope"}, "action": "reopen"}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"field":"subnet"`) {
		t.Fatalf("bad filter: %d %s", r.Status, r.Body)
	}
}

// A live finding the scan sees open again is seen, whatever the baseline now says of it: a
// baseline that came to allow the port does not close it (only a covering scan that saw the
// port closed does), and the scan is its last.
func TestAFindingNowAllowedIsSeenNotClosed(t *testing.T) {
	f := newFixture(t, "manager")
	b := f.baseline(map[string]any{"name": "lab", "scope_kind": "cidr", "scope_ref": "10.8.0.0/24", "mode": "allow", "ports": "22"})
	s1 := f.scanResults("10.8.0.0/24", "1-1024", "10.8.0.5:80")
	if out := f.judge(s1); len(out.Opened) != 1 {
		t.Fatalf("want 10.8.0.5:80 opened, got %+v", out)
	}
	if r := f.owner.Put("/api/v1/baselines/"+b.ID, map[string]any{"name": "lab", "scope_kind": "cidr", "scope_ref": "10.8.0.0/24", "mode": "allow", "ports": "22,80"}); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	s2 := f.scanResults("10.8.0.0/24", "1-1024", "10.8.0.5:80")
	if out := f.judge(s2); out.Seen != 1 || out.Closed != 0 || len(out.Opened)+len(out.Reopened) != 0 {
		t.Fatalf("want the finding seen again, nothing closed or opened, got %+v", out)
	}
	if got := f.one("address=10.8.0.5"); got.State != StateOpen || got.LastScanID != s2 {
		t.Fatalf("finding after a scan that saw it open: %+v", got)
	}
}
