package rbac_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

// base is what a user administrator holds: enough to call every user and role route.
var base = []string{"users:view", "users:write", "roles:view", "roles:write"}

func with(scopes []string, more ...string) []string {
	return append(append([]string{}, scopes...), more...)
}

// account is a user made for a test: their id and signed-in client.
type account struct {
	id     string
	client *apptest.Client
}

func newAccount(t *testing.T, srv *apptest.Server, owner *apptest.Client, roleIDs ...string) account {
	t.Helper()
	name := fmt.Sprintf("acct-%d", seq())
	r := owner.Post("/api/v1/users", map[string]any{"username": name, "password": "user-password-for-tests", "roles": roleIDs})
	if r.Status != http.StatusCreated {
		t.Fatalf("creating %s: %d %s", name, r.Status, r.Body)
	}
	var u struct{ ID string }
	r.JSON(t, &u)
	return account{id: u.ID, client: rbactest.Login(t, srv, name, "user-password-for-tests")}
}

var counter int

func seq() int { counter++; return counter }

func roleWith(t *testing.T, owner *apptest.Client, scopes []string) string {
	t.Helper()
	r := owner.Post("/api/v1/roles", map[string]any{"name": fmt.Sprintf("role-%d", seq()), "scopes": scopes})
	if r.Status != http.StatusCreated {
		t.Fatalf("creating a role with %v: %d %s", scopes, r.Status, r.Body)
	}
	var role struct{ ID string }
	r.JSON(t, &role)
	return role.ID
}

// accountRow is everything stored about a user that a refused request must leave alone.
func accountRow(t *testing.T, srv *apptest.Server, id string) string {
	t.Helper()
	var row string
	err := srv.DBs.Config.QueryRow(context.Background(), `
		SELECT COALESCE((SELECT to_jsonb(u)::text FROM users u WHERE u.id = $1), 'gone') ||
			COALESCE((SELECT string_agg(role_id::text, ',' ORDER BY role_id) FROM user_roles WHERE user_id = $1), '')`, id).Scan(&row)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// An actor changes or deletes another account only when holding every scope that account
// holds; only the owner changes the owner. The table runs every (target, actor's scopes
// relative to the target's, operation) through the API and checks the database after.
func TestChangingAnotherAccountNeedsEveryScopeItHolds(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	var me struct{ User struct{ ID string } }
	owner.Get("/api/v1/auth/me").JSON(t, &me)
	adminRole := rbactest.RoleID(t, owner, "admin")
	empty := roleWith(t, owner, []string{})
	baseRole := roleWith(t, owner, base)
	customRole := roleWith(t, owner, with(base, "audit:view"))
	widerRole := roleWith(t, owner, with(base, "audit:view", "audit:export"))

	type actorOf struct {
		relation string
		client   *apptest.Client
	}
	targets := []struct {
		kind   string
		make   func() string // a fresh target account's id
		actors []actorOf
	}{
		{"owner", func() string { return me.User.ID }, []actorOf{
			{"⊂", newAccount(t, srv, owner, baseRole).client},
			{"=", newAccount(t, srv, owner, adminRole).client}, // an admin holds every scope the owner does
		}},
		{"admin", func() string { return newAccount(t, srv, owner, adminRole).id }, []actorOf{
			{"⊂", newAccount(t, srv, owner, customRole).client},
			{"=", newAccount(t, srv, owner, adminRole).client},
			{"⊃", owner},
		}},
		{"custom", func() string { return newAccount(t, srv, owner, customRole).id }, []actorOf{
			{"⊂", newAccount(t, srv, owner, baseRole).client},
			{"=", newAccount(t, srv, owner, customRole).client},
			{"⊃", newAccount(t, srv, owner, widerRole).client},
		}},
	}
	ops := []struct {
		name string
		do   func(c *apptest.Client, id string) *apptest.Response
	}{
		{"password", func(c *apptest.Client, id string) *apptest.Response {
			return c.Patch("/api/v1/users/"+id, map[string]any{"password": "taken-over-password-123"})
		}},
		{"email", func(c *apptest.Client, id string) *apptest.Response {
			return c.Patch("/api/v1/users/"+id, map[string]any{"email": "attacker@example.com"})
		}},
		{"disable", func(c *apptest.Client, id string) *apptest.Response {
			return c.Patch("/api/v1/users/"+id, map[string]any{"disabled": true})
		}},
		{"roles", func(c *apptest.Client, id string) *apptest.Response {
			return c.Patch("/api/v1/users/"+id, map[string]any{"roles": []string{empty}})
		}},
		{"delete", func(c *apptest.Client, id string) *apptest.Response { return c.Delete("/api/v1/users/" + id) }},
	}
	tried := 0
	for _, target := range targets {
		for _, actor := range target.actors {
			for _, op := range ops {
				name := fmt.Sprintf("%s target, actor %s, %s", target.kind, actor.relation, op.name)
				id := target.make()
				before := accountRow(t, srv, id)
				r := op.do(actor.client, id)
				after := accountRow(t, srv, id)
				tried++
				allowed := target.kind != "owner" && actor.relation != "⊂"
				switch {
				case allowed && (r.Status == http.StatusOK || r.Status == http.StatusNoContent) && after != before:
				case allowed:
					t.Errorf("%s: want the change made, got %d %s", name, r.Status, r.Body)
				case after != before:
					t.Errorf("%s: refused with %d but the account changed:\n%s\n%s", name, r.Status, before, after)
				case target.kind == "owner" && op.name != "password" && op.name != "email":
					if r.Status != http.StatusConflict || r.ErrorCode() != "owner_protected" {
						t.Errorf("%s: want 409 owner_protected, got %d %s", name, r.Status, r.Body)
					}
				case r.Status != http.StatusForbidden:
					t.Errorf("%s: want 403, got %d %s", name, r.Status, r.Body)
				}
			}
		}
	}
	t.Logf("%d (target, actor, operation) cases tried", tried)
}

// The probe's takeover: a custom role of user and role administration resets the owner's
// password and signs in as the owner.
func TestAUserAdministratorCannotTakeOverTheOwner(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	var me struct{ User struct{ ID string } }
	owner.Get("/api/v1/auth/me").JSON(t, &me)
	delegate := rbactest.UserWithScopes(t, srv, owner, base...)
	before := accountRow(t, srv, me.User.ID)
	if r := delegate.Patch("/api/v1/users/"+me.User.ID, map[string]any{"password": "taken-over-password-123"}); r.Status != http.StatusForbidden {
		t.Fatalf("resetting the owner's password: %d %s", r.Status, r.Body)
	}
	if accountRow(t, srv, me.User.ID) != before {
		t.Fatal("the refused request changed the owner's account")
	}
	if r := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": "taken-over-password-123"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("signing in as the owner with the planted password: %d", r.Status)
	}
	rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
}
