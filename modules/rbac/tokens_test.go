package rbac_test

import (
	"net/http"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

type mintedToken struct {
	Token struct {
		ID        string
		ExpiresAt time.Time `json:"expires_at"`
	}
	Secret string
}

func mint(t *testing.T, c *apptest.Client, days int, scopes ...string) mintedToken {
	t.Helper()
	r := c.Post("/api/v1/tokens", map[string]any{"name": "t", "scopes": scopes, "expires_in_days": days})
	if r.Status != http.StatusCreated {
		t.Fatalf("minting %v: %d %s", scopes, r.Status, r.Body)
	}
	var m mintedToken
	r.JSON(t, &m)
	return m
}

func bearer(t *testing.T, srv *apptest.Server, secret string) *apptest.Client {
	c := apptest.NewClient(t, srv.URL)
	c.Header.Set("Authorization", "Bearer "+secret)
	return c
}

// A token mints tokens only with tokens:write, never beyond its own scopes or life, and its
// children die with it: revoked or expired, the parent takes them along.
func TestATokenMintsOnlyWithinItselfAndItsChildrenDieWithIt(t *testing.T) {
	clock := app.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	srv := start(t, clock)
	owner := rbactest.Owner(t, srv)

	limited := bearer(t, srv, mint(t, owner, 1, "audit:view").Secret)
	if r := limited.Post("/api/v1/tokens", map[string]any{"name": "child", "scopes": []string{"audit:view"}, "expires_in_days": 365}); r.Status != http.StatusForbidden {
		t.Fatalf("a token without tokens:write minted a token: %d %s", r.Status, r.Body)
	}

	parentToken := mint(t, owner, 1, "audit:view", "tokens:write")
	parent := bearer(t, srv, parentToken.Secret)
	if r := parent.Post("/api/v1/tokens", map[string]any{"name": "wider", "scopes": []string{"audit:export"}, "expires_in_days": 1}); r.Status != http.StatusForbidden {
		t.Fatalf("a child with a scope its parent lacks: %d %s", r.Status, r.Body)
	}
	childToken := mint(t, parent, 365, "audit:view")
	if childToken.Token.ExpiresAt.After(parentToken.Token.ExpiresAt) {
		t.Fatalf("the child expires %s, after its parent (%s)", childToken.Token.ExpiresAt, parentToken.Token.ExpiresAt)
	}
	child := bearer(t, srv, childToken.Secret)
	if r := child.Get("/api/v1/audit"); r.Status != http.StatusOK {
		t.Fatalf("the child within its scope: %d %s", r.Status, r.Body)
	}
	clock.Advance(25 * time.Hour)
	if r := child.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized {
		t.Fatalf("the child of an expired parent: %d %s", r.Status, r.Body)
	}
	clock.Advance(-25 * time.Hour)

	if r := owner.Delete("/api/v1/tokens/" + parentToken.Token.ID); r.Status != http.StatusNoContent {
		t.Fatalf("revoking the parent: %d %s", r.Status, r.Body)
	}
	if r := child.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized {
		t.Fatalf("the child after its parent's revocation: %d %s", r.Status, r.Body)
	}
}

// A token limited to other work cannot revoke its user's other tokens; it may revoke itself.
func TestALimitedTokenCannotRevokeItsUsersOtherTokens(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	other := mint(t, owner, 30, "audit:view")
	mine := mint(t, owner, 30, "audit:view")
	limited := bearer(t, srv, mine.Secret)
	if r := limited.Delete("/api/v1/tokens/" + other.Token.ID); r.Status != http.StatusForbidden {
		t.Fatalf("a limited token revoking another token: %d %s", r.Status, r.Body)
	}
	if r := bearer(t, srv, other.Secret).Get("/api/v1/audit"); r.Status != http.StatusOK {
		t.Fatalf("the other token after the refused revocation: %d", r.Status)
	}
	if r := limited.Delete("/api/v1/tokens/" + mine.Token.ID); r.Status != http.StatusNoContent {
		t.Fatalf("a token revoking itself: %d %s", r.Status, r.Body)
	}
	manager := bearer(t, srv, mint(t, owner, 30, "tokens:write").Secret)
	if r := manager.Delete("/api/v1/tokens/" + other.Token.ID); r.Status != http.StatusNoContent {
		t.Fatalf("a token holding tokens:write revoking another: %d %s", r.Status, r.Body)
	}
}
