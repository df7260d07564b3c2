package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// idp is a real OpenID provider for tests: zitadel/oidc's example provider (its op package
// with the example storage and login form) on a loopback listener, with knobs a test turns to
// make it misbehave: a wrong nonce, an expired ID token, a tampered token response.
type idp struct {
	*storage.Storage
	Issuer string
	users  *idpUsers
	mu     sync.Mutex
	groups map[string][]string // user id -> groups claim

	clients    map[string]*storage.Client
	logoutURIs []string
	WrongNonce atomic.Bool
	Expired    atomic.Bool
	Tamper     atomic.Bool
	ln         net.Listener
}

type idpUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User
}

func (u *idpUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[id]
}

func (u *idpUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (u *idpUsers) ExampleClientID() string { return "service" }

// startIDP starts the provider; it stops when the test ends (or on Stop).
func startIDP(t *testing.T) *idp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{Issuer: "http://" + ln.Addr().String(), users: &idpUsers{users: map[string]*storage.User{}},
		groups: map[string][]string{}, clients: map[string]*storage.Client{}, ln: ln}
	p.Storage = storage.NewStorageWithClients(p.users, p.clients)
	router := exampleop.SetupServer(p.Issuer, p, nil, false)
	srv := &http.Server{Handler: p.tamper(router)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// Stop takes the provider down.
func (p *idp) Stop() { p.ln.Close() }

// AddUser adds a person who signs in with password "verysecure".
func (p *idp) AddUser(id, username, email string, verified bool, groups ...string) {
	p.users.mu.Lock()
	p.users.users[id] = &storage.User{ID: id, Username: username, Password: "verysecure", FirstName: "Test", LastName: username,
		Email: email, EmailVerified: verified}
	p.users.mu.Unlock()
	p.SetGroups(id, groups...)
}

func (p *idp) SetGroups(id string, groups ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groups[id] = groups
}

// AddClient registers mipo as a client with its callback URL (shown on the provider page).
func (p *idp) AddClient(id, secret, redirectURI, postLogout string) {
	p.clients[id] = storage.WebClient(id, secret, redirectURI)
	p.logoutURIs = append(p.logoutURIs, postLogout)
}

func (p *idp) groupsOf(id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.groups[id]...)
}

// The overrides below change the example storage only where a test asks them to.

func (p *idp) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return map[string]any{"groups": p.groupsOf(userID)}, nil
}

func (p *idp) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := p.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	info.AppendClaims("groups", p.groupsOf(subject))
	return nil
}

func (p *idp) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if p.WrongNonce.Load() {
		req.Nonce = "a-nonce-mipo-never-sent"
	}
	return p.Storage.CreateAuthRequest(ctx, req, userID)
}

type client struct {
	op.Client
	expired    bool
	logoutURIs []string
}

func (c client) IDTokenLifetime() time.Duration {
	if c.expired {
		return -time.Minute
	}
	return c.Client.IDTokenLifetime()
}
func (c client) PostLogoutRedirectURIs() []string { return c.logoutURIs }

func (p *idp) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := p.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return client{Client: c, expired: p.Expired.Load(), logoutURIs: p.logoutURIs}, nil
}

// tamper rewrites the ID token in token responses while Tamper is set: the payload says
// another subject, the signature stays the provider's.
func (p *idp) tamper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.Tamper.Load() || !strings.HasSuffix(r.URL.Path, "/token") {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		var body map[string]any
		json.Unmarshal(rec.body, &body)
		if tok, ok := body["id_token"].(string); ok {
			parts := strings.Split(tok, ".")
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var claims map[string]any
			json.Unmarshal(payload, &claims)
			claims["sub"] = "someone-else"
			payload, _ = json.Marshal(claims)
			parts[1] = base64.RawURLEncoding.EncodeToString(payload)
			body["id_token"] = strings.Join(parts, ".")
		}
		out, _ := json.Marshal(body)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		w.Write(out)
	})
}

type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// browser follows redirects like a browser, with one cookie jar for mipo and the provider,
// and stops when mipo sends it to a UI page (or, when asked, at mipo's callback).
type browser struct {
	t      *testing.T
	mipo   *url.URL
	http   *http.Client
	holdAt string // a path prefix on mipo to stop at
}

func newBrowser(t *testing.T, mipoURL string) *browser {
	u, _ := url.Parse(mipoURL)
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, mipo: u}
	b.http = &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == b.mipo.Host && (!strings.HasPrefix(req.URL.Path, "/api/") || (b.holdAt != "" && strings.HasPrefix(req.URL.Path, b.holdAt))) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	res, err := b.http.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// signIn clicks the provider's button and fills the provider's login form. It returns where
// mipo sent the browser at the end: "/" when signed in, "/login?sso_error=…" when refused.
func (b *browser) signIn(providerID, username string) string {
	b.t.Helper()
	res := b.login(providerID, username)
	return res.Header.Get("Location")
}

func (b *browser) login(providerID, username string) *http.Response {
	b.t.Helper()
	res := b.get(b.mipo.String() + "/api/v1/auth/oidc/" + providerID + "/start")
	if res.StatusCode == http.StatusFound {
		return res // refused before reaching the provider
	}
	id := res.Request.URL.Query().Get("authRequestID")
	if res.StatusCode != http.StatusOK || id == "" {
		b.t.Fatalf("the provider's login page: %d at %s", res.StatusCode, res.Request.URL)
	}
	form := url.Values{"id": {id}, "username": {username}, "password": {"verysecure"}}
	res, err := b.http.PostForm(res.Request.URL.Scheme+"://"+res.Request.URL.Host+"/login/username", form)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}
