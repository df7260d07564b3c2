package alarms

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"mipo/modules/rbac/rbactest"
)

// The same fault 50 times is one alarm with count 50 and one notification; acknowledging and
// resolving notify once each; the fault after resolution is a new occurrence linked to the old.
func TestDedupeAckResolveReopen(t *testing.T) {
	f := newFixture(t)
	rx := newWebhookReceiver(t)
	ch := f.channel(map[string]any{"name": "hook", "kind": "webhook", "webhook": map[string]any{"url": rx.URL}})
	if ch.SigningSecret == "" || ch.DefaultRoute == nil {
		t.Fatalf("the first webhook channel needs its secret shown once and the default route: %+v", ch)
	}
	rx.secret = ch.SigningSecret
	// The default route carries critical and major alarms: make heartbeat loss (major) go
	// everywhere, acknowledgements included.
	r := f.owner.Patch("/api/v1/alarm-routes/"+ch.DefaultRoute.ID, map[string]any{"severities": []string{}})
	if r.Status != http.StatusOK {
		t.Fatalf("route: %d %s", r.Status, r.Body)
	}
	for range 50 {
		f.apply(ev("scanner.offline", "s1", map[string]any{"name": "edge-1"}))
	}
	f.deliver()
	open := f.alarms("rule=scanner.heartbeat.lost")
	if len(open) != 1 || open[0].Count != 50 || open[0].State != StateOpen || open[0].Severity != SeverityMajor {
		t.Fatalf("50 repeats: want one open major alarm with count 50, got %+v", open)
	}
	first := open[0]
	if r := f.owner.Post("/api/v1/alarms/"+first.ID+"/acknowledge", map[string]any{"comment": "on it"}); r.Status != http.StatusOK {
		t.Fatalf("ack: %d %s", r.Status, r.Body)
	}
	if r := f.owner.Post("/api/v1/alarms/"+first.ID+"/acknowledge", map[string]any{}); r.Status != http.StatusConflict {
		t.Fatalf("a second ack: want 409, got %d %s", r.Status, r.Body)
	}
	f.apply(ev("scanner.offline", "s1", nil)) // a repeat while acknowledged: bumps, no notification
	f.apply(ev("scanner.online", "s1", nil))
	f.deliver()
	got := f.alarms("rule=scanner.heartbeat.lost")
	if len(got) != 1 || got[0].State != StateResolved || got[0].Count != 51 || got[0].AcknowledgedBy == "" {
		t.Fatalf("after ack and the recovery event: %+v", got)
	}
	f.apply(ev("scanner.offline", "s1", nil))
	f.deliver()
	again := f.alarms("rule=scanner.heartbeat.lost&state=open")
	if len(again) != 1 || again[0].ID == first.ID || again[0].PreviousID == nil || *again[0].PreviousID != first.ID || again[0].Count != 1 {
		t.Fatalf("the fault after resolution must open a new occurrence linked to the old: %+v", again)
	}
	want := []string{"alarm.opened", "alarm.acknowledged", "alarm.resolved", "alarm.opened"}
	if k := kindsOf(rx.forRule("scanner.heartbeat.lost")); !slices.Equal(k, want) || rx.bad != 0 {
		t.Fatalf("notifications: want %v, got %v (%d failed verification)", want, k, rx.bad)
	}
	var detail AlarmDetail
	f.owner.Get("/api/v1/alarms/"+first.ID).JSON(t, &detail)
	var kinds []string
	for _, tr := range detail.Timeline {
		kinds = append(kinds, tr.Kind)
	}
	if !slices.Equal(kinds, []string{"opened", "acknowledged", "resolved"}) || detail.Timeline[1].Comment != "on it" {
		t.Fatalf("timeline: %+v", detail.Timeline)
	}
	var sum OpenCount
	f.owner.Get("/api/v1/alarms/summary").JSON(t, &sum)
	if sum.Open < 1 || sum.BySeverity[SeverityMajor] < 1 {
		t.Fatalf("summary: %+v", sum)
	}
}

// An open alarm escalates one step per window until someone acknowledges it; a snooze keeps
// its transitions from being sent, and ends.
func TestEscalationAndSnoozeFollowTheClock(t *testing.T) {
	f := newFixture(t)
	rx := newWebhookReceiver(t)
	ch := f.channel(map[string]any{"name": "hook", "kind": "webhook", "webhook": map[string]any{"url": rx.URL}})
	rx.secret = ch.SigningSecret
	f.owner.Patch("/api/v1/alarm-routes/"+ch.DefaultRoute.ID, map[string]any{"severities": []string{}, "rules": []string{"job.stalled"}})
	f.apply(ev("job.stalled", "j1", map[string]any{"scan_id": "x", "scanner_id": "y"}))
	f.clock.Advance(2*time.Hour + time.Second) // job.stalled escalates after 2 hours: minor → major
	if n, err := f.svc.Escalate(t.Context()); err != nil || n != 1 {
		t.Fatalf("escalate: %d %v", n, err)
	}
	if n, _ := f.svc.Escalate(t.Context()); n != 0 {
		t.Fatal("escalated twice within one window")
	}
	f.deliver()
	a := f.alarms("rule=job.stalled")[0]
	if a.Severity != SeverityMajor || a.Escalations != 1 {
		t.Fatalf("after one window: %+v", a)
	}
	if k := kindsOf(rx.forRule("job.stalled")); !slices.Equal(k, []string{"alarm.opened", "alarm.escalated"}) {
		t.Fatalf("notifications: %v", k)
	}

	// Snooze the rule for an hour: the next occurrence opens, but nobody hears of it.
	f.owner.Post("/api/v1/alarms/"+a.ID+"/resolve", map[string]any{"comment": "fixed"})
	r := f.owner.Post("/api/v1/alarm-snoozes", map[string]any{"rule_id": "job.stalled", "until": f.clock.Now().Add(time.Hour), "reason": "maintenance CHG-1"})
	if r.Status != http.StatusCreated {
		t.Fatalf("snooze: %d %s", r.Status, r.Body)
	}
	if r := f.owner.Post("/api/v1/alarm-snoozes", map[string]any{"rule_id": "no.such.rule", "until": f.clock.Now().Add(time.Hour), "reason": "x"}); r.Status != http.StatusBadRequest || r.ErrorField() != "rule_id" {
		t.Fatalf("unknown rule: %d %s", r.Status, r.Body)
	}
	f.deliver()
	before := len(rx.forRule("job.stalled"))
	f.apply(ev("job.stalled", "j2", nil))
	f.deliver()
	if n := len(rx.forRule("job.stalled")); n != before {
		t.Fatalf("a snoozed rule notified: %v", kindsOf(rx.forRule("job.stalled")))
	}
	var d AlarmDetail
	f.owner.Get("/api/v1/alarms/"+f.alarms("rule=job.stalled&state=open")[0].ID).JSON(t, &d)
	if d.Timeline[0].Note != "not sent: snoozed (maintenance CHG-1)" {
		t.Fatalf("the timeline must say why nothing was sent: %+v", d.Timeline)
	}
	f.clock.Advance(time.Hour + time.Second)
	f.apply(ev("job.recovered", "j2", nil))
	f.deliver()
	if k := kindsOf(rx.forRule("job.stalled")); k[len(k)-1] != "alarm.resolved" || len(k) != before+1 {
		t.Fatalf("after the snooze ended the resolution must be sent: %v", k)
	}
}

// Operators override a rule's severity and thresholds, or disable it; built-in rules cannot
// be deleted; every change is audited.
func TestRuleOverrides(t *testing.T) {
	f := newFixture(t)
	r := f.owner.Patch("/api/v1/alarm-rules/scan.failed", map[string]any{"severity": "critical"})
	if r.Status != http.StatusOK {
		t.Fatalf("override: %d %s", r.Status, r.Body)
	}
	f.apply(ev("scan.failed", "scan-1", map[string]any{"template": "nightly", "detail": "no scanner"}))
	if a := f.alarms("rule=scan.failed"); len(a) != 1 || a[0].Severity != SeverityCritical || a[0].Subject != "nightly" {
		t.Fatalf("the override must set the severity: %+v", a)
	}
	f.apply(ev("scan.completed", "scan-2", map[string]any{"template": "nightly"}))
	if a := f.alarms("rule=scan.failed"); a[0].State != StateResolved {
		t.Fatalf("the template's next completed scan resolves it: %+v", a)
	}
	if r := f.owner.Patch("/api/v1/alarm-rules/tls.certificate.expiry", map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	f.apply(ev("tls.certificate.expired", "mipo.example.com", nil))
	if a := f.alarms("rule=tls.certificate.expiry"); len(a) != 0 {
		t.Fatalf("a disabled rule opened an alarm: %+v", a)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"severity": "urgent"}, "severity"},
		{map[string]any{"thresholds": map[string]any{"hours": 3}}, "thresholds.hours"},
		{map[string]any{"escalate_after_minutes": -1}, "escalate_after_minutes"},
	} {
		if r := f.owner.Patch("/api/v1/alarm-rules/tls.certificate.expiry", bad.body); r.Status != http.StatusBadRequest || r.ErrorField() != bad.field {
			t.Fatalf("%v: want 400 on %s, got %d %s", bad.body, bad.field, r.Status, r.Body)
		}
	}
	if r := f.owner.Delete("/api/v1/alarm-rules/scan.failed"); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("deleting a built-in rule: want 405, got %d %s", r.Status, r.Body)
	}
	var n int
	f.svc.DB.Config.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action = 'alarm_rule.update'`).Scan(&n)
	if n != 2 {
		t.Fatalf("rule changes audited: want 2, got %d", n)
	}
	var rules struct{ Items []RuleView }
	f.owner.Get("/api/v1/alarm-rules").JSON(t, &rules)
	if len(rules.Items) != 19 {
		t.Fatalf("want 15 built-in rules, the channel rule and the two findings rules, got %d", len(rules.Items))
	}
}

// Each rule for parts other issues build fires from its event, with the thresholds applied.
func TestRulesFireFromTheirEvents(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		fire, resolve, subject, rule, severity string
		payload                                map[string]any
	}{
		{"tls.certificate.expiring", "tls.certificate.renewed", "mipo.example.com", "tls.certificate.expiry", SeverityMajor, map[string]any{"days_left": 10}},
		{"acme.renewal.failed", "acme.renewal.succeeded", "mipo.example.com", "acme.renewal.failed", SeverityMajor, nil},
		{"backup.missed", "backup.succeeded", "config", "backup.failed", SeverityMajor, nil},
		{"backup.replication.failed", "backup.replication.succeeded", "results", "backup.replication.failed", SeverityMinor, nil},
		{"dns.resolution.failed", "dns.resolution.succeeded", "mipo.example.com", "dns.resolution.failed", SeverityMajor, nil},
		{"database.pool.saturated", "database.pool.relieved", "config", "database.pool.saturated", SeverityMajor, nil},
		{"ingest.node.silent", "ingest.node.reporting", "host:1", "ingest.node.silent", SeverityMajor, nil},
		{"dispatcher.absent", "dispatcher.present", "dispatcher", "dispatcher.none.active", SeverityCritical, nil},
		{"scanner.pressure", "scanner.pressure.cleared", "s1", "scanner.resource.pressure", SeverityWarning, nil},
	}
	for _, c := range cases {
		f.apply(ev(c.fire, c.subject, c.payload))
		a := f.alarms("rule=" + c.rule + "&state=open")
		if len(a) != 1 || a[0].Severity != c.severity || a[0].Subject != c.subject {
			t.Fatalf("%s: want one open %s alarm about %s, got %+v", c.fire, c.severity, c.subject, a)
		}
		f.apply(ev(c.resolve, c.subject, nil))
		if a := f.alarms("rule=" + c.rule + "&state=open"); len(a) != 0 {
			t.Fatalf("%s did not resolve %s", c.resolve, c.rule)
		}
	}
	// A certificate with 30 days left is not yet a fault at the 14-day threshold; an expired
	// one is critical.
	f.apply(ev("tls.certificate.expiring", "far", map[string]any{"days_left": 30}))
	if a := f.alarms("rule=tls.certificate.expiry&q=far"); len(a) != 0 {
		t.Fatalf("30 days left fired: %+v", a)
	}
	f.apply(ev("tls.certificate.expiring", "near", map[string]any{"days_left": 3}), ev("tls.certificate.expired", "near", nil))
	if a := f.alarms("rule=tls.certificate.expiry&state=open"); len(a) != 1 || a[0].Severity != SeverityCritical {
		t.Fatalf("expired must raise the open alarm to critical: %+v", a)
	}
}

// Bulk acknowledgement takes the open alarms among the ids and skips the rest; an unknown id
// refuses the whole request; a viewer may look but not acknowledge.
func TestBulkAcknowledgeAndScopes(t *testing.T) {
	f := newFixture(t)
	f.apply(ev("scanner.offline", "s1", nil), ev("scanner.offline", "s2", nil), ev("scanner.offline", "s3", nil))
	all := f.alarms("state=open")
	if len(all) != 3 {
		t.Fatalf("want 3 open alarms, got %d", len(all))
	}
	f.owner.Post("/api/v1/alarms/"+all[0].ID+"/acknowledge", map[string]any{})
	ids := []string{all[0].ID, all[1].ID, all[2].ID}
	if r := f.owner.Post("/api/v1/alarms/acknowledge", map[string]any{"ids": append(ids, "8c0e7e56-0000-4000-8000-000000000000")}); r.Status != http.StatusNotFound {
		t.Fatalf("an unknown id: want 404, got %d %s", r.Status, r.Body)
	}
	if r := f.owner.Post("/api/v1/alarms/acknowledge", map[string]any{"ids": []string{}}); r.Status != http.StatusBadRequest || r.ErrorField() != "ids" {
		t.Fatalf("no ids: want 400 on ids, got %d %s", r.Status, r.Body)
	}
	viewer := rbactest.UserWithScopes(t, f.srv, f.owner, "alarms:view")
	if r := viewer.Post("/api/v1/alarms/acknowledge", map[string]any{"ids": ids}); r.Status != http.StatusForbidden {
		t.Fatalf("a viewer acknowledged: %d %s", r.Status, r.Body)
	}
	if r := viewer.Get("/api/v1/alarms"); r.Status != http.StatusOK {
		t.Fatalf("a viewer cannot list: %d", r.Status)
	}
	var res BulkResult
	r := f.owner.Post("/api/v1/alarms/acknowledge", map[string]any{"ids": ids, "comment": "maintenance"})
	r.JSON(t, &res)
	if r.Status != http.StatusOK || len(res.Acknowledged) != 2 || res.Skipped != 1 {
		t.Fatalf("bulk: %d %s", r.Status, r.Body)
	}
	if open := f.alarms("state=open"); len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
	if r := f.owner.Get("/api/v1/alarms?severity=urgent"); r.Status != http.StatusBadRequest || r.ErrorField() != "severity" {
		t.Fatalf("bad filter: %d %s", r.Status, r.Body)
	}
}
