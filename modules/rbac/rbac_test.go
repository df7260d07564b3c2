package rbac_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
)

func start(t *testing.T, clock app.Clock) *apptest.Server {
	t.Helper()
	dbs := apptest.Databases(t)
	return apptest.Start(t, apptest.Config(t, dbs, app.RoleManager), dbs, app.Options{Clock: clock})
}

func TestSetupIsNeededThenGoneForever(t *testing.T) {
	srv := start(t, nil)
	c := apptest.NewClient(t, srv.URL)
	if r := c.Get("/api/v1/setup"); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"needed":true`) {
		t.Fatalf("GET setup before setup: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/api/v1/users", "/api/v1/auth/me", "/api/v1/audit"} {
		if r := c.Get(path); r.Status != http.StatusConflict || r.ErrorCode() != "setup_required" {
			t.Fatalf("%s before setup: %d %s", path, r.Status, r.Body)
		}
	}
	if r := c.Post("/api/v1/auth/login", map[string]string{"username": "x", "password": "y"}); r.ErrorCode() != "setup_required" {
		t.Fatalf("login before setup: %d %s", r.Status, r.Body)
	}
	if r := c.Post("/api/v1/setup", map[string]string{"username": "owner", "password": "short"}); r.Status != http.StatusBadRequest || r.ErrorField() != "password" {
		t.Fatalf("weak owner password: %d %s", r.Status, r.Body)
	}
	owner := rbactest.Owner(t, srv)
	var me struct {
		Owner  bool
		Scopes []string
		User   struct{ Username string }
	}
	owner.Get("/api/v1/auth/me").JSON(t, &me)
	if !me.Owner || me.User.Username != "owner" || len(me.Scopes) < 20 {
		t.Fatalf("after setup the owner is signed in with every scope, got %+v", me)
	}
	for _, r := range []*apptest.Response{c.Get("/api/v1/setup"), c.Post("/api/v1/setup", map[string]string{"username": "again", "password": "another-long-password"})} {
		if r.Status != http.StatusNotFound {
			t.Fatalf("setup after setup: %d %s", r.Status, r.Body)
		}
	}
}

func TestRacingSetupsMakeExactlyOneOwner(t *testing.T) {
	srv := start(t, nil)
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := apptest.NewClient(t, srv.URL)
			statuses[i] = c.Post("/api/v1/setup", map[string]string{"username": "owner" + string(rune('a'+i)), "password": "racing-owner-password"}).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusNotFound:
		default:
			t.Fatalf("a racing setup answered %d", s)
		}
	}
	var users int
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&users)
	if created != 1 || users != 1 {
		t.Fatalf("%d setups succeeded and %d users exist; want exactly one", created, users)
	}
}

func TestSetupFromTheCommandLine(t *testing.T) {
	dbs := apptest.Databases(t)
	run := func() error {
		cmd := app.NewCLI()
		cmd.SetArgs([]string{"setup", "--username", "root", "--password-stdin", "--fqdn", "mipo.example.com",
			"--data-dir", t.TempDir(), "--config-dsn", dbs.DSN("config"), "--results-dsn", dbs.DSN("results"), "--jobs-dsn", dbs.DSN("jobs")})
		cmd.SetIn(strings.NewReader("a-long-cli-password\n"))
		cmd.SetOut(&strings.Builder{})
		return cmd.Execute()
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), "setup is complete") {
		t.Fatalf("a second `mipo setup` must refuse, got %v", err)
	}
	srv := apptest.Start(t, apptest.Config(t, dbs, app.RoleManager), dbs, app.Options{})
	c := rbactest.Login(t, srv, "root", "a-long-cli-password")
	var s struct {
		PublicFQDN string `json:"public_fqdn"`
	}
	c.Get("/api/v1/settings").JSON(t, &s)
	if s.PublicFQDN != "mipo.example.com" {
		t.Fatalf("the CLI setup did not store the FQDN: %+v", s)
	}
}

func TestOwnerCannotBeDeletedDemotedOrDisabled(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	admin := rbactest.UserWithRoles(t, srv, owner, "second-admin", rbactest.RoleID(t, owner, "admin"))
	var me struct{ User struct{ ID string } }
	owner.Get("/api/v1/auth/me").JSON(t, &me)
	id := me.User.ID
	for _, c := range []*apptest.Client{owner, admin} {
		for _, r := range []*apptest.Response{
			c.Delete("/api/v1/users/" + id),
			c.Patch("/api/v1/users/"+id, map[string]any{"disabled": true}),
			c.Patch("/api/v1/users/"+id, map[string]any{"roles": []string{rbactest.RoleID(t, owner, "viewer")}}),
		} {
			if r.Status != http.StatusConflict || r.ErrorCode() != "owner_protected" {
				t.Fatalf("changing the owner answered %d %s", r.Status, r.Body)
			}
		}
	}
	if r := owner.Get("/api/v1/auth/me"); r.Status != http.StatusOK {
		t.Fatal("the owner lost access")
	}
}

func TestBuiltinRolesAreImmutable(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	for _, name := range []string{"admin", "operator", "viewer"} {
		id := rbactest.RoleID(t, owner, name)
		for _, r := range []*apptest.Response{
			owner.Patch("/api/v1/roles/"+id, map[string]any{"scopes": []string{"users:view"}}),
			owner.Patch("/api/v1/roles/"+id, map[string]any{"name": "renamed"}),
			owner.Delete("/api/v1/roles/" + id),
		} {
			if r.Status != http.StatusConflict || r.ErrorCode() != "role_builtin" {
				t.Fatalf("changing built-in %s answered %d %s", name, r.Status, r.Body)
			}
		}
	}
	var viewer struct{ Scopes []string }
	owner.Get("/api/v1/roles/"+rbactest.RoleID(t, owner, "viewer")).JSON(t, &viewer)
	for _, s := range viewer.Scopes {
		if strings.HasSuffix(s, ":export") || strings.HasSuffix(s, ":write") || strings.HasPrefix(s, "users:") || strings.HasPrefix(s, "settings:") {
			t.Errorf("viewer holds %s: not a safe read-only scope", s)
		}
	}
}

func TestRolesCRUDAndInUseRefusal(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	r := owner.Post("/api/v1/roles", map[string]any{"name": "auditors", "description": "read the log", "scopes": []string{"audit:view", "audit:export", "audit:view"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create role: %d %s", r.Status, r.Body)
	}
	var role struct {
		ID     string
		Scopes []string
	}
	r.JSON(t, &role)
	if strings.Join(role.Scopes, ",") != "audit:export,audit:view" {
		t.Fatalf("scopes not normalised: %v", role.Scopes)
	}
	if r := owner.Post("/api/v1/roles", map[string]any{"name": "Auditors", "scopes": []string{}}); r.Status != http.StatusConflict || r.ErrorField() != "name" {
		t.Fatalf("duplicate role name: %d %s", r.Status, r.Body)
	}
	if r := owner.Post("/api/v1/roles", map[string]any{"name": "bad", "scopes": []string{"audit:destroy"}}); r.Status != http.StatusBadRequest || r.ErrorField() != "scopes" {
		t.Fatalf("unknown scope: %d %s", r.Status, r.Body)
	}
	rbactest.UserWithRoles(t, srv, owner, "carol", role.ID)
	r = owner.Delete("/api/v1/roles/" + role.ID)
	if r.Status != http.StatusConflict || r.ErrorCode() != "role_in_use" || !strings.Contains(string(r.Body), "carol") {
		t.Fatalf("deleting a role in use must name its users: %d %s", r.Status, r.Body)
	}
}

func TestNobodyGrantsScopesTheyDoNotHold(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	delegate := rbactest.UserWithScopes(t, srv, owner, "roles:write", "roles:view", "users:write", "users:view")
	if r := delegate.Post("/api/v1/roles", map[string]any{"name": "grab", "scopes": []string{"audit:export"}}); r.Status != http.StatusForbidden || r.ErrorCode() != "scope_escalation" {
		t.Fatalf("a role with scopes the creator lacks: %d %s", r.Status, r.Body)
	}
	stronger := owner.Post("/api/v1/roles", map[string]any{"name": "auditors", "scopes": []string{"audit:view", "audit:export"}})
	var role struct{ ID string }
	stronger.JSON(t, &role)
	if r := delegate.Patch("/api/v1/roles/"+role.ID, map[string]any{"scopes": []string{}}); r.Status != http.StatusForbidden || r.ErrorCode() != "scope_escalation" {
		t.Fatalf("emptying a role with scopes the editor lacks: %d %s", r.Status, r.Body)
	}
	if r := delegate.Post("/api/v1/users", map[string]any{"username": "sock", "password": "a-puppet-password-xyz", "roles": []string{rbactest.RoleID(t, owner, "admin")}}); r.Status != http.StatusForbidden {
		t.Fatalf("assigning admin without holding its scopes: %d %s", r.Status, r.Body)
	}
	if r := delegate.Post("/api/v1/tokens", map[string]any{"name": "t", "scopes": []string{"audit:view"}, "expires_in_days": 1}); r.Status != http.StatusForbidden {
		t.Fatalf("a token with a scope the user lacks: %d %s", r.Status, r.Body)
	}
}

func TestUsersListSortFilterAndValidation(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	viewer := rbactest.RoleID(t, owner, "viewer")
	for _, u := range []string{"zed", "amy", "bob"} {
		roles := []string{}
		if u != "bob" {
			roles = []string{viewer}
		}
		if r := owner.Post("/api/v1/users", map[string]any{"username": u, "password": "a-long-secret-phrase-1", "roles": roles, "email": u + "@example.com"}); r.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", u, r.Status, r.Body)
		}
	}
	var page struct {
		Items []struct{ Username string }
	}
	owner.Get("/api/v1/users?role="+viewer+"&sort=-username").JSON(t, &page)
	if len(page.Items) != 2 || page.Items[0].Username != "zed" || page.Items[1].Username != "amy" {
		t.Fatalf("filter by role, sorted descending: %+v", page.Items)
	}
	owner.Get("/api/v1/users?auth=local&sort=username&limit=2").JSON(t, &page)
	if len(page.Items) != 2 || page.Items[0].Username != "amy" {
		t.Fatalf("auth filter with a page size: %+v", page.Items)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"username": "bad name", "password": "long-enough-password"}, "username"},
		{map[string]any{"username": "amy", "password": "long-enough-password"}, "username"},
		{map[string]any{"username": "eve", "password": "eveeveeveeve1"}, "password"},
		{map[string]any{"username": "eve", "password": "long-enough-password", "email": "not-an-email"}, "email"},
		{map[string]any{"username": "eve", "password": "long-enough-password", "roles": []string{"00000000-0000-0000-0000-000000000000"}}, "roles"},
		{map[string]any{"username": "eve", "password": "long-enough-password", "admin": true}, "admin"},
		{map[string]any{"username": 7}, "username"},
	} {
		r := owner.Post("/api/v1/users", c.body)
		if r.Status < 400 || r.Status >= 500 || r.ErrorField() != c.field {
			t.Errorf("%v: want an error on %s, got %d %s", c.body, c.field, r.Status, r.Body)
		}
	}
	if r := owner.Get("/api/v1/users?sort=password_hash"); r.Status != http.StatusBadRequest || r.ErrorField() != "sort" {
		t.Fatalf("sorting by a secret column: %d %s", r.Status, r.Body)
	}
	var count int
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE username = 'eve'`).Scan(&count)
	if count != 0 {
		t.Fatal("a refused request created a user")
	}
}

func TestCookieRequestsNeedTheCSRFHeader(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	token := owner.Header.Get("X-CSRF-Token")
	owner.Header.Del("X-CSRF-Token")
	if r := owner.Post("/api/v1/roles", map[string]any{"name": "x", "scopes": []string{}}); r.Status != http.StatusForbidden || r.ErrorCode() != "csrf_failed" {
		t.Fatalf("no CSRF header: %d %s", r.Status, r.Body)
	}
	owner.Header.Set("X-CSRF-Token", token+"x")
	if r := owner.Post("/api/v1/roles", map[string]any{"name": "x", "scopes": []string{}}); r.Status != http.StatusForbidden {
		t.Fatalf("wrong CSRF header: %d %s", r.Status, r.Body)
	}
	owner.Header.Set("X-CSRF-Token", token)
	owner.Header.Set("Origin", "https://evil.example")
	if r := owner.Post("/api/v1/roles", map[string]any{"name": "x", "scopes": []string{}}); r.Status != http.StatusForbidden || r.ErrorCode() != "cross_origin" {
		t.Fatalf("cross-origin request: %d %s", r.Status, r.Body)
	}
	owner.Header.Del("Origin")
	if r := owner.Post("/api/v1/roles", map[string]any{"name": "x", "scopes": []string{}}); r.Status != http.StatusCreated {
		t.Fatalf("a proper request: %d %s", r.Status, r.Body)
	}
}

func TestStolenCookieIsDeadAfterLogout(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	alice := rbactest.UserWithScopes(t, srv, owner, "audit:view")
	thief := apptest.NewClient(t, srv.URL)
	thief.HTTP.Jar = alice.HTTP.Jar // a copy of the cookie
	if r := thief.Get("/api/v1/audit"); r.Status != http.StatusOK {
		t.Fatalf("the copied cookie should work before logout: %d", r.Status)
	}
	if r := alice.Post("/api/v1/auth/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := thief.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized {
		t.Fatalf("a stolen cookie after logout answered %d", r.Status)
	}
}

func TestSessionIdRotatesOnLogin(t *testing.T) {
	srv := start(t, nil)
	rbactest.Owner(t, srv)
	c := rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
	first := cookieValue(t, c)
	if r := c.Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": rbactest.OwnerPassword}); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	second := cookieValue(t, c)
	if first == second || first == "" {
		t.Fatal("signing in again kept the session id")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/auth/me", nil)
	req.AddCookie(&http.Cookie{Name: "mipo_session", Value: first})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the session replaced by a new sign-in still answers %d", res.StatusCode)
	}
}

func TestLoginErrorsAreGenericAndThrottled(t *testing.T) {
	clock := app.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	srv := start(t, clock)
	owner := rbactest.Owner(t, srv)
	rbactest.UserWithScopes(t, srv, owner) // user-N with a role of no scopes
	unknown := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "nobody", "password": "whatever-it-is"})
	wrong := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": "not-the-password"})
	if unknown.Status != http.StatusUnauthorized || string(unknown.Body) != string(wrong.Body) {
		t.Fatalf("unknown user and wrong password must answer alike:\n%s\n%s", unknown.Body, wrong.Body)
	}
	for i := 0; i < 4; i++ {
		apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": "not-the-password"})
	}
	r := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": rbactest.OwnerPassword})
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the sixth attempt after five failures: %d %s", r.Status, r.Body)
	}
	clock.Advance(16 * time.Minute)
	if r := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": rbactest.OwnerPassword}); r.Status != http.StatusOK {
		t.Fatalf("after the lockout: %d %s", r.Status, r.Body)
	}
	// Per address: twenty failures spread over many accounts lock the address.
	for i := 0; i < 20; i++ {
		apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "spray" + string(rune('a'+i)), "password": "guess-guess-guess"})
	}
	if r := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": rbactest.OwnerPassword}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("an address that sprayed twenty accounts: %d", r.Status)
	}
	var failures int
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'session.login' AND outcome = 'failure'`).Scan(&failures)
	if failures < 26 {
		t.Fatalf("every failed sign-in is audited; found %d", failures)
	}
}

func TestAPITokens(t *testing.T) {
	clock := app.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	srv := start(t, clock)
	owner := rbactest.Owner(t, srv)
	user := rbactest.UserWithScopes(t, srv, owner, "audit:view", "roles:view")
	r := user.Post("/api/v1/tokens", map[string]any{"name": "ci", "scopes": []string{"audit:view"}, "expires_in_days": 1})
	if r.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	var created struct {
		Token  struct{ ID, Prefix string }
		Secret string
	}
	r.JSON(t, &created)
	if !strings.HasPrefix(created.Secret, "mipo_") || !strings.HasPrefix(created.Secret, created.Token.Prefix) {
		t.Fatalf("secret %q, prefix %q", created.Secret, created.Token.Prefix)
	}
	if list := user.Get("/api/v1/tokens"); strings.Contains(string(list.Body), created.Secret) {
		t.Fatal("the token list shows the secret")
	}
	var stored int
	srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM api_tokens WHERE position($1 in encode(secret_hash, 'escape')) > 0`, created.Secret[len(created.Secret)-20:]).Scan(&stored)
	if stored != 0 {
		t.Fatal("the secret is stored in the clear")
	}
	bot := apptest.NewClient(t, srv.URL)
	bot.Header.Set("Authorization", "Bearer "+created.Secret)
	if r := bot.Get("/api/v1/audit"); r.Status != http.StatusOK {
		t.Fatalf("token within its scope: %d %s", r.Status, r.Body)
	}
	if r := bot.Get("/api/v1/roles"); r.Status != http.StatusForbidden {
		t.Fatalf("token outside its scopes (the user holds roles:view, the token does not): %d", r.Status)
	}
	bot.Header.Set("Authorization", "Bearer "+created.Secret[:len(created.Secret)-1]+"x")
	if r := bot.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized {
		t.Fatalf("a tampered token: %d", r.Status)
	}
	bot.Header.Set("Authorization", "Bearer "+created.Secret)
	clock.Advance(25 * time.Hour)
	if r := bot.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized || r.ErrorCode() != "token_expired" {
		t.Fatalf("an expired token: %d %s", r.Status, r.Body)
	}
	clock.Advance(-25 * time.Hour)
	if r := user.Delete("/api/v1/tokens/" + created.Token.ID); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := bot.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", r.Status)
	}
	if r := user.Post("/api/v1/tokens", map[string]any{"name": "x", "scopes": []string{"audit:view"}, "expires_in_days": 400}); r.ErrorField() != "expires_in_days" {
		t.Fatalf("a 400-day token: %d %s", r.Status, r.Body)
	}
}

func TestATokenLosesWhatItsUserLoses(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	r := owner.Post("/api/v1/roles", map[string]any{"name": "readers", "scopes": []string{"audit:view"}})
	var role struct{ ID string }
	r.JSON(t, &role)
	user := rbactest.UserWithRoles(t, srv, owner, "dana", role.ID)
	var created struct{ Secret string }
	user.Post("/api/v1/tokens", map[string]any{"name": "ci", "scopes": []string{"audit:view"}, "expires_in_days": 30}).JSON(t, &created)
	bot := apptest.NewClient(t, srv.URL)
	bot.Header.Set("Authorization", "Bearer "+created.Secret)
	if r := bot.Get("/api/v1/audit"); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	owner.Patch("/api/v1/roles/"+role.ID, map[string]any{"scopes": []string{}})
	if r := bot.Get("/api/v1/audit"); r.Status != http.StatusForbidden {
		t.Fatalf("the token kept a scope its user lost: %d", r.Status)
	}
}

func TestDisabledUsersAreSignedOut(t *testing.T) {
	srv := start(t, nil)
	owner := rbactest.Owner(t, srv)
	user := rbactest.UserWithScopes(t, srv, owner, "audit:view")
	var me struct{ User struct{ ID, Username string } }
	user.Get("/api/v1/auth/me").JSON(t, &me)
	if r := owner.Patch("/api/v1/users/"+me.User.ID, map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	if r := user.Get("/api/v1/audit"); r.Status != http.StatusUnauthorized {
		t.Fatalf("a disabled user's session still answers %d", r.Status)
	}
	if r := apptest.NewClient(t, srv.URL).Post("/api/v1/auth/login", map[string]string{"username": me.User.Username, "password": "user-password-for-tests"}); r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_credentials" {
		t.Fatalf("a disabled user signing in: %d %s", r.Status, r.Body)
	}
}

func TestPasswordChange(t *testing.T) {
	srv := start(t, nil)
	rbactest.Owner(t, srv)
	c := rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
	other := rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
	if r := c.Put("/api/v1/auth/password", map[string]string{"current_password": "wrong", "new_password": "a-brand-new-password"}); r.ErrorField() != "current_password" {
		t.Fatalf("wrong current password: %d %s", r.Status, r.Body)
	}
	if r := c.Put("/api/v1/auth/password", map[string]string{"current_password": rbactest.OwnerPassword, "new_password": "short"}); r.ErrorField() != "new_password" {
		t.Fatalf("weak new password: %d %s", r.Status, r.Body)
	}
	if r := c.Put("/api/v1/auth/password", map[string]string{"current_password": rbactest.OwnerPassword, "new_password": "a-brand-new-password"}); r.Status != http.StatusNoContent {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	if c.Get("/api/v1/auth/me").Status != http.StatusOK || other.Get("/api/v1/auth/me").Status != http.StatusUnauthorized {
		t.Fatal("a password change keeps the changing session and ends the others")
	}
	rbactest.Login(t, srv, "owner", "a-brand-new-password")
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func cookieValue(t *testing.T, c *apptest.Client) string {
	for _, ck := range c.HTTP.Jar.Cookies(mustURL(c.Base)) {
		if ck.Name == "mipo_session" {
			return ck.Value
		}
	}
	return ""
}
