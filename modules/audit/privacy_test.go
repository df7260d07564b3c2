package audit_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"mipo/app/apptest"
	"mipo/modules/audit"
	"mipo/modules/rbac/rbactest"
)

// The viewer role promises no user profiles, so an audit reader without users:view sees the
// log with names, email addresses, source addresses and browsers hidden: in the list, in one
// record and in the export. A reader who may see users sees them all.
func TestReadersWithoutUsersViewSeeNoPersonalFields(t *testing.T) {
	srv, owner := start(t)
	if r := owner.Post("/api/v1/users", map[string]any{"username": "erin-profile", "display_name": "Erin Example",
		"email": "erin@example.com", "password": "erin-long-password"}); r.Status != http.StatusCreated {
		t.Fatalf("creating erin: %d %s", r.Status, r.Body)
	}
	stranger := apptest.NewClient(t, srv.URL)
	stranger.Header.Set("User-Agent", "browser-of-a-stranger/1.0")
	stranger.Post("/api/v1/auth/login", map[string]string{"username": "mistyped-username", "password": "not-a-password"})
	personal := []string{"erin-profile", "Erin Example", "erin@example.com", "mistyped-username", "browser-of-a-stranger", "127.0.0.1"}

	viewer := rbactest.UserWithRoles(t, srv, owner, "vera", rbactest.RoleID(t, owner, "viewer"))
	exporter := rbactest.UserWithScopes(t, srv, owner, "audit:view", "audit:export")
	full := rbactest.UserWithScopes(t, srv, owner, "audit:view", "audit:export", "users:view")

	var p page
	viewer.Get("/api/v1/audit?limit=500").JSON(t, &p)
	var failed audit.AuditRecord
	for _, r := range p.Items {
		if r.Action == "session.login" && r.Outcome == "failure" {
			failed = r
		}
	}
	if failed.ID == 0 {
		t.Fatal("the viewer does not see the failed sign-in at all")
	}
	reads := map[string]*apptest.Response{
		"viewer list":      viewer.Get("/api/v1/audit?limit=500"),
		"viewer record":    viewer.Get("/api/v1/audit/" + strconv.FormatInt(failed.ID, 10)),
		"viewer by name":   viewer.Get("/api/v1/audit?actor=mistyped-username"),
		"exporter jsonl":   exporter.Get("/api/v1/audit/export?format=jsonl"),
		"exporter csv":     exporter.Get("/api/v1/audit/export?format=csv"),
		"exporter by name": exporter.Get("/api/v1/audit/export?actor=erin-profile"),
	}
	for name, r := range reads {
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		for _, v := range personal {
			if strings.Contains(string(r.Body), v) {
				t.Errorf("%s shows %q to a reader without users:view", name, v)
			}
		}
	}
	if !strings.Contains(string(reads["viewer record"].Body), audit.Hidden) {
		t.Errorf("the hidden fields are not marked as hidden: %s", reads["viewer record"].Body)
	}
	for _, r := range []*apptest.Response{full.Get("/api/v1/audit?limit=500"), full.Get("/api/v1/audit/export?format=csv")} {
		for _, v := range personal {
			if !strings.Contains(string(r.Body), v) {
				t.Errorf("a reader holding users:view misses %q", v)
			}
		}
	}
}
