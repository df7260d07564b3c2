// Package rbactest gives other modules' tests signed-in API clients: the owner after a real
// first-run setup, and users holding exactly the scopes a test names. Everything goes through
// the public API, as a browser or a script would.
package rbactest

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"mipo/app/apptest"
)

// OwnerPassword is the owner's password in tests.
const OwnerPassword = "correct-horse-battery-staple"

// Owner completes the first-run setup on srv and returns the owner's signed-in client.
func Owner(t testing.TB, srv *apptest.Server) *apptest.Client {
	t.Helper()
	c := apptest.NewClient(t, srv.URL)
	r := c.Post("/api/v1/setup", map[string]string{"username": "owner", "password": OwnerPassword})
	if r.Status != http.StatusCreated {
		t.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	var done struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(t, &done)
	c.Header.Set("X-CSRF-Token", done.CSRFToken)
	return c
}

// Login signs a user in and returns their client, with the CSRF header set.
func Login(t testing.TB, srv *apptest.Server, username, password string) *apptest.Client {
	t.Helper()
	c := apptest.NewClient(t, srv.URL)
	r := c.Post("/api/v1/auth/login", map[string]string{"username": username, "password": password})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(t, &me)
	c.Header.Set("X-CSRF-Token", me.CSRFToken)
	return c
}

var seq atomic.Int64

// UserWithScopes creates (as owner) a role with exactly these scopes and a user holding it,
// signs the user in and returns the client.
func UserWithScopes(t testing.TB, srv *apptest.Server, owner *apptest.Client, scopes ...string) *apptest.Client {
	t.Helper()
	n := seq.Add(1)
	if scopes == nil {
		scopes = []string{}
	}
	role := owner.Post("/api/v1/roles", map[string]any{"name": fmt.Sprintf("test-role-%d", n), "scopes": scopes})
	if role.Status != http.StatusCreated {
		t.Fatalf("creating a role with %v: %d %s", scopes, role.Status, role.Body)
	}
	var r struct{ ID string }
	role.JSON(t, &r)
	return UserWithRoles(t, srv, owner, fmt.Sprintf("user-%d-%s", n, strings.ReplaceAll(strings.Join(scopes, "-"), ":", ".")), r.ID)
}

// UserWithRoles creates a user holding the given role ids and signs them in.
func UserWithRoles(t testing.TB, srv *apptest.Server, owner *apptest.Client, username string, roleIDs ...string) *apptest.Client {
	t.Helper()
	if len(username) > 64 {
		username = username[:64]
	}
	const password = "user-password-for-tests"
	if roleIDs == nil {
		roleIDs = []string{}
	}
	u := owner.Post("/api/v1/users", map[string]any{"username": username, "password": password, "roles": roleIDs})
	if u.Status != http.StatusCreated {
		t.Fatalf("creating user %s: %d %s", username, u.Status, u.Body)
	}
	return Login(t, srv, username, password)
}

// RoleID returns the id of a role by name, as the owner sees it.
func RoleID(t testing.TB, owner *apptest.Client, name string) string {
	t.Helper()
	var page struct {
		Items []struct{ ID, Name string }
	}
	owner.Get("/api/v1/roles?limit=500").JSON(t, &page)
	for _, r := range page.Items {
		if r.Name == name {
			return r.ID
		}
	}
	t.Fatalf("no role named %s", name)
	return ""
}
