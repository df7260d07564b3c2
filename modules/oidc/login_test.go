package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	_ "mipo/modules/oidc"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

type env struct {
	t     *testing.T
	srv   *apptest.Server
	owner *apptest.Client
	idp   *idp
	roles map[string]string // name -> id
}

func start(t *testing.T) *env {
	t.Helper()
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs, app.RoleManager), dbs, app.Options{})
	e := &env{t: t, srv: srv, owner: rbactest.Owner(t, srv), idp: startIDP(t), roles: map[string]string{}}
	var roles struct{ Items []struct{ ID, Name string } }
	e.owner.Get("/api/v1/roles").JSON(t, &roles)
	for _, r := range roles.Items {
		e.roles[r.Name] = r.ID
	}
	return e
}

type provider struct {
	ID          string `json:"id"`
	CallbackURL string `json:"callback_url"`
}

// addProvider configures a provider in mipo through the API and registers mipo as a client
// at the test provider with the callback URL mipo shows.
func (e *env) addProvider(clientID string, body map[string]any) provider {
	e.t.Helper()
	in := map[string]any{"display_name": "Test IdP " + clientID, "issuer": e.idp.Issuer, "client_id": clientID, "client_secret": "secret-" + clientID}
	for k, v := range body {
		in[k] = v
	}
	r := e.owner.Post("/api/v1/oidc/providers", in)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("create provider: %d %s", r.Status, r.Body)
	}
	var p provider
	r.JSON(e.t, &p)
	if p.CallbackURL != e.srv.URL+"/api/v1/auth/oidc/"+p.ID+"/callback" {
		e.t.Fatalf("callback URL %q", p.CallbackURL)
	}
	e.idp.AddClient(clientID, "secret-"+clientID, p.CallbackURL, e.srv.URL+"/login")
	return p
}

func (e *env) rule(group, role string) map[string]string {
	return map[string]string{"claim": "groups", "value": group, "role_id": e.roles[role]}
}

// me returns the scopes of the browser's session, or nil when it is not signed in.
func (e *env) me(b *browser) []string {
	e.t.Helper()
	res, err := b.http.Get(e.srv.URL + "/api/v1/auth/me")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil
	}
	var me struct{ Scopes []string }
	r := &apptest.Response{Status: res.StatusCode}
	r.Body = readAll(res)
	r.JSON(e.t, &me)
	return me.Scopes
}

// lastLogin is the newest session.login record's outcome and reason.
func (e *env) lastLogin() (outcome, reason, method, ip string) {
	e.t.Helper()
	err := e.srv.DBs.Config.QueryRow(context.Background(), `SELECT outcome, coalesce(detail->>'reason', ''), detail->>'method', source_ip
		FROM audit_log WHERE action = 'session.login' ORDER BY id DESC LIMIT 1`).Scan(&outcome, &reason, &method, &ip)
	if err != nil {
		e.t.Fatal(err)
	}
	return
}

func refusal(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Path != "/login" || u.Query().Get("sso_error") == "" {
		t.Fatalf("expected a refusal sent to the sign-in page, got %q", location)
	}
	return u.Query().Get("sso_error")
}

func TestSignInThroughAProviderEndToEnd(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", map[string]any{"create_users": true, "role_rules": []any{e.rule("netops", "operator")}})
	e.idp.AddUser("alice-sub", "alice", "alice@example.com", true, "netops", "staff")

	var list struct {
		Items []struct{ ID, ButtonLabel, LoginURL string }
	}
	apptest.NewClient(t, e.srv.URL).Get("/api/v1/auth/oidc/providers").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != p.ID {
		t.Fatalf("the sign-in page's providers: %+v", list)
	}

	b := newBrowser(t, e.srv.URL)
	if loc := b.signIn(p.ID, "alice"); loc != "/" {
		t.Fatalf("sign-in ended at %q", loc)
	}
	scopes := e.me(b)
	if !slices.Contains(scopes, "scans:execute") || slices.Contains(scopes, "users:view") {
		t.Fatalf("alice should hold the operator role's scopes only, got %v", scopes)
	}
	if o, r, m, ip := e.lastLogin(); o != "success" || m != "oidc" || ip != "127.0.0.1" {
		t.Fatalf("the sign-in's audit record: %s %s %s %s", o, r, m, ip)
	}
	var users struct {
		Items []struct {
			Username, Email string
			AuthMethods     []string `json:"auth_methods"`
		}
	}
	e.owner.Get("/api/v1/users?auth=oidc").JSON(t, &users)
	if len(users.Items) != 1 || users.Items[0].Username != "alice" || users.Items[0].Email != "alice@example.com" || !slices.Equal(users.Items[0].AuthMethods, []string{"oidc"}) {
		t.Fatalf("the just-created user: %+v", users.Items)
	}

	// Signing out offers the provider's logout (RP-initiated), and the logout is audited.
	res, _ := b.http.Get(e.srv.URL + "/api/v1/auth/oidc/end-session")
	var end struct{ URL string }
	(&apptest.Response{Body: readAll(res)}).JSON(t, &end)
	if !strings.HasPrefix(end.URL, e.idp.Issuer) || !strings.Contains(end.URL, "id_token_hint=") {
		t.Fatalf("end-session URL %q", end.URL)
	}
	csrf := csrfOf(t, b, e.srv.URL)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/auth/logout", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	if res, err := b.http.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %v %v", res, err)
	}
	if res := b.get(end.URL); res.StatusCode != http.StatusFound || !strings.HasSuffix(res.Header.Get("Location"), "/login") {
		t.Fatalf("the provider's logout should send the browser back to mipo's sign-in page: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var method string
	e.srv.DBs.Config.QueryRow(context.Background(), `SELECT detail->>'method' FROM audit_log WHERE action = 'session.logout' ORDER BY id DESC LIMIT 1`).Scan(&method)
	if method != "oidc" {
		t.Fatalf("logout audited with method %q", method)
	}
}

func TestLinkingNeedsAVerifiedEmail(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", map[string]any{"link_by_email": true, "default_role_id": e.roles["viewer"]})
	for _, u := range []string{"bob", "carol"} {
		if r := e.owner.Post("/api/v1/users", map[string]any{"username": u, "email": u + "@example.com", "password": "a-long-local-password"}); r.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", u, r.Status, r.Body)
		}
	}
	e.idp.AddUser("bob-sub", "bob.idp", "bob@example.com", true)
	e.idp.AddUser("carol-sub", "carol.idp", "carol@example.com", false)

	if loc := newBrowser(t, e.srv.URL).signIn(p.ID, "bob.idp"); loc != "/" {
		t.Fatalf("bob (verified email) ended at %q", loc)
	}
	msg := refusal(t, newBrowser(t, e.srv.URL).signIn(p.ID, "carol.idp"))
	if !strings.Contains(msg, "not verified") {
		t.Fatalf("carol's refusal says %q", msg)
	}
	if o, r, _, _ := e.lastLogin(); o != "failure" || r != "email_unverified" {
		t.Fatalf("carol's refusal audited as %s %s", o, r)
	}
	var users struct {
		Items []struct {
			Username    string
			AuthMethods []string `json:"auth_methods"`
		}
	}
	e.owner.Get("/api/v1/users?sort=username").JSON(t, &users)
	got := map[string][]string{}
	for _, u := range users.Items {
		got[u.Username] = u.AuthMethods
	}
	if !slices.Equal(got["bob"], []string{"local", "oidc"}) || !slices.Equal(got["carol"], []string{"local"}) || len(got) != 3 {
		t.Fatalf("after linking: %v", got)
	}
	rbactest.Login(t, e.srv, "bob", "a-long-local-password") // a linked user keeps the password
}

func TestRolesFollowTheProviderAtEverySignIn(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", map[string]any{"create_users": true, "role_rules": []any{e.rule("netops", "operator")}})
	e.idp.AddUser("dave-sub", "dave", "dave@example.com", true, "netops")

	first := newBrowser(t, e.srv.URL)
	if loc := first.signIn(p.ID, "dave"); loc != "/" || !slices.Contains(e.me(first), "scans:execute") {
		t.Fatalf("first sign-in: %q %v", loc, e.me(first))
	}
	// The mapping changes in mipo: netops now means viewer.
	if r := e.owner.Patch("/api/v1/oidc/providers/"+p.ID, map[string]any{"role_rules": []any{e.rule("netops", "viewer")}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	second := newBrowser(t, e.srv.URL)
	if loc := second.signIn(p.ID, "dave"); loc != "/" {
		t.Fatalf("second sign-in: %q", loc)
	}
	if s := e.me(second); slices.Contains(s, "scans:execute") || !slices.Contains(s, "results:view") {
		t.Fatalf("after the mapping change dave should be a viewer, holds %v", s)
	}
	// The provider takes dave out of every group: the next sign-in is refused, naming the
	// provider, and dave's sessions end.
	e.idp.SetGroups("dave-sub")
	msg := refusal(t, newBrowser(t, e.srv.URL).signIn(p.ID, "dave"))
	if !strings.Contains(msg, "Test IdP mipo") || !strings.Contains(msg, "no mipo role") {
		t.Fatalf("refusal says %q", msg)
	}
	if e.me(first) != nil || e.me(second) != nil {
		t.Fatal("dave's sessions outlived the removal of all his roles")
	}
	if o, r, _, _ := e.lastLogin(); o != "failure" || r != "no_role" {
		t.Fatalf("audited as %s %s", o, r)
	}
}

func TestForgedOrStaleAnswersAreRefused(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", map[string]any{"create_users": true, "default_role_id": e.roles["viewer"]})
	e.idp.AddUser("erin-sub", "erin", "erin@example.com", true)
	for _, c := range []struct {
		name, reason string
		knob         interface{ Store(bool) }
	}{
		{"tampered ID token", "id_token_invalid", &e.idp.Tamper},
		{"wrong nonce", "nonce_mismatch", &e.idp.WrongNonce},
		{"expired ID token", "token_expired", &e.idp.Expired},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.knob.Store(true)
			defer c.knob.Store(false)
			b := newBrowser(t, e.srv.URL)
			refusal(t, b.signIn(p.ID, "erin"))
			if o, r, _, _ := e.lastLogin(); o != "failure" || r != c.reason {
				t.Fatalf("audited as %s %s, want failure %s", o, r, c.reason)
			}
			if e.me(b) != nil {
				t.Fatal("a session began")
			}
		})
	}
	t.Run("replayed state", func(t *testing.T) {
		b := newBrowser(t, e.srv.URL)
		b.holdAt = "/api/v1/auth/oidc/" + p.ID + "/callback"
		callback := b.login(p.ID, "erin").Header.Get("Location")
		if !strings.Contains(callback, "state=") {
			t.Fatalf("expected to stop at mipo's callback, got %q", callback)
		}
		u, _ := url.Parse(e.srv.URL)
		stateCookie := b.http.Jar.Cookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/api/v1/auth/oidc/"})
		b.holdAt = ""
		if res := b.get(callback); res.Header.Get("Location") != "/" {
			t.Fatalf("the genuine callback: %s", res.Header.Get("Location"))
		}
		// The same answer again, even with the state cookie put back, is refused.
		b.http.Jar.SetCookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/api/v1/auth/oidc/"}, stateCookie)
		refusal(t, b.get(callback).Header.Get("Location"))
		if o, r, _, _ := e.lastLogin(); o != "failure" || r != "state_unknown" {
			t.Fatalf("audited as %s %s", o, r)
		}
		// And from another browser, without the cookie, too.
		refusal(t, newBrowser(t, e.srv.URL).get(callback).Header.Get("Location"))
	})
}

func TestAProviderThatIsDownLeavesPasswordsWorking(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", map[string]any{"create_users": true, "default_role_id": e.roles["viewer"]})
	e.idp.Stop()
	msg := refusal(t, newBrowser(t, e.srv.URL).signIn(p.ID, "anyone"))
	if !strings.Contains(msg, "cannot be reached") || !strings.Contains(msg, "Test IdP mipo") {
		t.Fatalf("refusal says %q", msg)
	}
	if o, r, _, _ := e.lastLogin(); o != "failure" || r != "provider_unreachable" {
		t.Fatalf("audited as %s %s", o, r)
	}
	rbactest.Login(t, e.srv, "owner", rbactest.OwnerPassword)
}

// Several providers at once: each has its own button and callback, a state begun for one is
// refused at another's callback, and a disabled provider is neither listed nor accepted.
func TestSeveralProvidersAtOnce(t *testing.T) {
	e := start(t)
	a := e.addProvider("a", map[string]any{"create_users": true, "default_role_id": e.roles["viewer"]})
	b := e.addProvider("b", map[string]any{"create_users": true, "default_role_id": e.roles["viewer"]})
	e.idp.AddUser("frank-sub", "frank", "frank@example.com", true)
	listed := func() int {
		var list struct{ Items []any }
		apptest.NewClient(t, e.srv.URL).Get("/api/v1/auth/oidc/providers").JSON(t, &list)
		return len(list.Items)
	}
	if listed() != 2 {
		t.Fatalf("%d providers on the sign-in page, want 2", listed())
	}
	if loc := newBrowser(t, e.srv.URL).signIn(b.ID, "frank"); loc != "/" {
		t.Fatalf("sign-in through b: %q", loc)
	}
	// A state begun for a, delivered to b's callback.
	br := newBrowser(t, e.srv.URL)
	br.holdAt = "/api/v1/auth/oidc/" + a.ID + "/callback"
	callback := br.login(a.ID, "frank").Header.Get("Location")
	br.holdAt = ""
	refusal(t, br.get(strings.Replace(callback, a.ID, b.ID, 1)).Header.Get("Location"))
	if o, r, _, _ := e.lastLogin(); o != "failure" || r != "state_unknown" {
		t.Fatalf("audited as %s %s", o, r)
	}
	if r := e.owner.Patch("/api/v1/oidc/providers/"+a.ID, map[string]any{"enabled": false}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if listed() != 1 {
		t.Fatalf("a disabled provider is still listed")
	}
	if msg := refusal(t, newBrowser(t, e.srv.URL).signIn(a.ID, "frank")); !strings.Contains(msg, "switched off") {
		t.Fatalf("disabled provider: %q", msg)
	}
}
