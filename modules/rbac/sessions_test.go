package rbac_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

// A user holds at most MIPO_SESSION_LIMIT sessions (10 by default): each sign-in past it
// ends the oldest, and the audit log says so.
func TestSessionsPerUserAreCappedOldestFirst(t *testing.T) {
	srv := start(t, nil)
	rbactest.Owner(t, srv) // the setup's session is the first
	var clients []*apptest.Client
	for i := 0; i < 11; i++ {
		clients = append(clients, rbactest.Login(t, srv, "owner", rbactest.OwnerPassword))
	}
	var n int
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n)
	if n != 10 {
		t.Fatalf("%d sessions after 12 sign-ins, want 10", n)
	}
	if r := clients[0].Get("/api/v1/auth/me"); r.Status != http.StatusUnauthorized {
		t.Fatalf("the oldest signed-in client still answers %d", r.Status)
	}
	for _, c := range clients[1:] {
		if r := c.Get("/api/v1/auth/me"); r.Status != http.StatusOK {
			t.Fatalf("a newer session ended: %d", r.Status)
		}
	}
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'session.expire' AND detail->>'reason' = 'limit'`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d sessions ended by the limit are audited, want 2", n)
	}
}

// Over TLS the session cookie is __Host-mipo_session: Secure, Path=/, no Domain, so no other
// host or plain-HTTP page can set or shadow it.
func TestTheSessionCookieOverTLSIsAHostCookie(t *testing.T) {
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": app.RoleManager, "MIPO_TLS": "on",
		"MIPO_LISTEN": "127.0.0.1:0", "MIPO_SHUTDOWN_TIMEOUT": "2s",
		"MIPO_CONFIG_DSN": dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN": dbs.DSN(app.DBResults), "MIPO_JOBS_DSN": dbs.DSN(app.DBJobs)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Options{DB: dbs.Databases, Logger: apptest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ln, _, err := app.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	c := apptest.NewClient(t, "https://"+ln.Addr().String())
	jar, _ := cookiejar.New(nil)
	c.HTTP = &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	r := c.Post("/api/v1/setup", map[string]string{"username": "owner", "password": rbactest.OwnerPassword})
	if r.Status != http.StatusCreated {
		t.Fatalf("setup over TLS: %d %s", r.Status, r.Body)
	}
	set := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(set, "__Host-mipo_session=") || !strings.Contains(set, "; Secure") || !strings.Contains(set, "Path=/;") ||
		strings.Contains(strings.ToLower(set), "domain=") {
		t.Fatalf("the session cookie over TLS: %s", set)
	}
	if r := c.Get("/api/v1/auth/me"); r.Status != http.StatusOK {
		t.Fatalf("the __Host- cookie does not sign the browser in: %d %s", r.Status, r.Body)
	}
}
