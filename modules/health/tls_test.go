package health

import (
	"context"
	"net/http"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/tls"
)

// A certificate 13 days from its end (the clock moved there) turns the TLS node red on the
// overview and on its component page, with the days left, and the hourly expiry check (run
// every second here) opens the expiry alarm.
func TestAnExpiringCertificateShowsOnTheTLSPageAndOpensTheAlarm(t *testing.T) {
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": "manager",
		"MIPO_TLS_EXPIRY_CHECK_EVERY": "1s",
		"MIPO_CONFIG_DSN":             dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = true
	clock := app.NewFakeClock(time.Now())
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	owner := rbactest.Owner(t, srv)
	component := func(c *apptest.Client) Component {
		var out Component
		r := c.Get("/api/v1/health/components/tls?hours=1")
		if r.Status != http.StatusOK {
			t.Fatalf("the TLS component: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out
	}
	apptest.WaitFor(t, 40*time.Second, "the TLS node green", func() bool { return component(owner).Node.Status == StatusOK })
	served, err := tls.Served(context.Background(), srv.App.DB.Config)
	if err != nil || served == nil {
		t.Fatalf("the served certificate: %v, %v", served, err)
	}
	alarmOpen := func(c *apptest.Client) bool {
		var page struct{ Items []struct{ State string } }
		c.Get("/api/v1/alarms?state=open&rule=tls.certificate.expiry").JSON(t, &page)
		return len(page.Items) == 1
	}
	if alarmOpen(owner) {
		t.Fatal("the expiry alarm is open for a fresh certificate")
	}

	jumped := served.NotAfter.Add(-13 * 24 * time.Hour)
	clock.Set(jumped)
	// The clock jumped past any session: sign in afresh for each look.
	apptest.WaitFor(t, 40*time.Second, "the TLS node red with 13 days left, on the overview and its page, and the alarm open", func() bool {
		c := rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
		comp := component(c)
		days, _ := comp.Node.Detail.(map[string]any)["days_left"].(float64)
		var o Overview
		c.Get("/api/v1/health/overview").JSON(t, &o)
		return comp.Node.Status == StatusDown && !comp.Node.CheckedAt.Before(jumped) && days > 12 && days < 14 &&
			status(o, "tls") == StatusDown && alarmOpen(c)
	})
}
