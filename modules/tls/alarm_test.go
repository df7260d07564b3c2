package tls

import (
	"context"
	"net/http"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/alarms"
	_ "mipo/modules/audit"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
)

// The served certificate nearing its end opens the alarms module's expiry alarm through the
// event bus, at expiry it turns critical, and serving a new certificate resolves it.
func TestExpiryOpensTheAlarmAndANewCertificateResolvesIt(t *testing.T) {
	clock := app.NewFakeClock(time.Now())
	srv, owner := start(t, clock)
	o := overview(t, owner)
	s := serviceOf(t, srv)
	type alarm struct{ Severity, State, Summary string }
	current := func() []alarm {
		// The clock jumps by months here, past any session: sign in afresh for each look.
		owner := rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
		var page struct{ Items []alarm }
		r := owner.Get("/api/v1/alarms?rule=tls.certificate.expiry")
		if r.Status != http.StatusOK {
			t.Fatalf("alarms: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &page)
		return page.Items
	}
	clock.Set(o.Active.NotAfter.Add(-13 * 24 * time.Hour))
	if err := s.CheckExpiry(context.Background()); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 20*time.Second, "the expiry alarm", func() bool {
		a := current()
		return len(a) == 1 && a[0].State == "open" && a[0].Severity == "major"
	})
	clock.Set(o.Active.NotAfter.Add(time.Minute))
	if err := s.CheckExpiry(context.Background()); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 20*time.Second, "the alarm turned critical", func() bool {
		a := current()
		return len(a) == 1 && a[0].Severity == "critical"
	})
	owner = rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
	if r := owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": "renewed.example.test"}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	if err := s.FollowFQDN(context.Background()); err != nil {
		t.Fatal(err)
	}
	apptest.WaitFor(t, 20*time.Second, "the alarm resolved by the new certificate", func() bool {
		a := current()
		return len(a) == 1 && a[0].State == "resolved"
	})
}
