package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
)

// These tests walk the whole route table of a process running every module, so a route added
// by any module, now or later, is covered without anyone remembering to add it here.

func allRoutes(t *testing.T) (*apptest.Server, []app.Route) {
	t.Helper()
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs), dbs, app.Options{})
	return srv, srv.App.Routes()
}

var pathParam = regexp.MustCompile(`:[a-z_]+`)

// concrete fills a route's path parameters with ids that exist nowhere.
func concrete(path string) string {
	return pathParam.ReplaceAllStringFunc(path, func(p string) string {
		if p == ":id" && strings.HasPrefix(path, "/api/v1/audit/") {
			return "999999"
		}
		return "00000000-0000-4000-8000-000000000000"
	})
}

func call(c *apptest.Client, r app.Route) *apptest.Response {
	var body any
	if r.Mutates() {
		body = map[string]any{}
	}
	return c.Do(r.Method, concrete(r.Path), body)
}

func TestEveryRouteDeclaresWhoMayCallIt(t *testing.T) {
	_, routes := allRoutes(t)
	if len(routes) < 20 {
		t.Fatalf("only %d routes: is every module imported?", len(routes))
	}
	for _, r := range routes {
		switch {
		case r.Scope == "":
			t.Errorf("%s %s declares no scope", r.Method, r.Path)
		case r.Scope == app.Public || r.Scope == app.SignedIn || r.Scope == app.ScannerKey:
		case !rbac.KnownScope(r.Scope):
			t.Errorf("%s %s needs %q, which is not in the scope catalogue", r.Method, r.Path, r.Scope)
		}
		if strings.HasPrefix(r.Path, "/api/") && r.Scope == app.ScannerKey || strings.HasPrefix(r.Path, "/scanner/v1/") && r.Scope != app.ScannerKey && r.Method != http.MethodPost {
			t.Errorf("%s %s: the admin API takes users and tokens, the scanner API takes scanner keys", r.Method, r.Path)
		}
	}
}

func TestEveryGuardedRouteRefusesStrangers(t *testing.T) {
	srv, routes := allRoutes(t)
	rbactest.Owner(t, srv)
	stranger := apptest.NewClient(t, srv.URL)
	for _, r := range routes {
		if r.Guard() != app.GuardUser {
			continue
		}
		if res := call(stranger, r); res.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials answered %d", r.Method, r.Path, res.Status)
		}
	}
}

// A viewer gets 403 on every route needing a scope the viewer role lacks; the owner passes
// every scope check.
func TestViewerIsRefusedEveryScopeItLacksAndTheOwnerPassesAll(t *testing.T) {
	srv, routes := allRoutes(t)
	owner := rbactest.Owner(t, srv)
	viewer := rbactest.UserWithRoles(t, srv, owner, "vera", rbactest.RoleID(t, owner, rbac.RoleViewer))
	var me struct{ Scopes []string }
	viewer.Get("/api/v1/auth/me").JSON(t, &me)
	holds := map[string]bool{}
	for _, s := range me.Scopes {
		holds[s] = true
	}
	refused, passed := 0, 0
	for _, r := range routes {
		if r.Guard() != app.GuardUser || r.Scope == app.SignedIn || holds[r.Scope] {
			continue
		}
		res := call(viewer, r)
		if res.Status != http.StatusForbidden || res.ErrorCode() != "forbidden" {
			t.Errorf("viewer on %s %s (needs %s) answered %d %s", r.Method, r.Path, r.Scope, res.Status, res.Body)
		}
		refused++
	}
	for _, r := range routes {
		if r.Guard() != app.GuardUser || r.Path == "/api/v1/auth/logout" {
			continue
		}
		if res := call(owner, r); res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden || res.Status >= 500 {
			t.Errorf("owner on %s %s answered %d %s", r.Method, r.Path, res.Status, res.Body)
		}
		passed++
	}
	if refused == 0 || passed == 0 {
		t.Fatalf("the walk checked nothing (refused %d, passed %d)", refused, passed)
	}
	t.Logf("viewer refused on %d routes; owner passed %d", refused, passed)
}
