package rbac

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestExpiredSessionsAreRefusedAndTheirExpiryAudited(t *testing.T) {
	clock := app.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	dbs := apptest.Databases(t)
	cfg := apptest.Config(t, dbs, app.RoleManager)
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	owner := rbactest.Owner(t, srv)
	idleUser := rbactest.Login(t, srv, "owner", rbactest.OwnerPassword)
	s := &sessions{key: cfg.SessionKey, idle: settingSessionIdle.Get(cfg), max: settingSessionMax.Get(cfg), clock: clock}

	// Keep the owner's first session busy while the second one idles.
	for i := 0; i < 4; i++ {
		clock.Advance(10 * time.Minute)
		if r := owner.Get("/api/v1/auth/me"); r.Status != http.StatusOK {
			t.Fatalf("an active session expired early: %d", r.Status)
		}
	}
	r := idleUser.Get("/api/v1/auth/me")
	if r.Status != http.StatusUnauthorized || r.ErrorCode() != "session_expired" {
		t.Fatalf("a session idle for 40 minutes: %d %s", r.Status, r.Body)
	}
	n, err := s.expireSessions(context.Background(), dbs.Config)
	if err != nil || n != 1 {
		t.Fatalf("the expiry job removed %d sessions (%v), want the idle one", n, err)
	}
	var reason string
	dbs.Config.QueryRow(context.Background(), `SELECT detail->>'reason' FROM audit_log WHERE action = 'session.expire' AND actor_kind = 'system'`).Scan(&reason)
	if reason != "idle" {
		t.Fatalf("the expiry is not audited as idle (got %q)", reason)
	}
	// The absolute limit ends even a busy session.
	for i := 0; i < 12*4; i++ {
		clock.Advance(15 * time.Minute)
		if r := owner.Get("/api/v1/auth/me"); r.Status != http.StatusOK {
			if r.ErrorCode() != "session_expired" || i < 40 {
				t.Fatalf("after %d quarter hours: %d %s", i+1, r.Status, r.Body)
			}
			break
		}
	}
	if n, _ := s.expireSessions(context.Background(), dbs.Config); n != 1 {
		t.Fatalf("the absolute expiry was not removed (%d)", n)
	}
	dbs.Config.QueryRow(context.Background(), `SELECT detail->>'reason' FROM audit_log WHERE action = 'session.expire' ORDER BY id DESC LIMIT 1`).Scan(&reason)
	if reason != "absolute" {
		t.Fatalf("the second expiry is not audited as absolute (got %q)", reason)
	}
}

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("a-good-long-password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("unexpected hash format %s", h)
	}
	if !CheckPassword(h, "a-good-long-password") || CheckPassword(h, "a-good-long-passworD") {
		t.Fatal("CheckPassword is wrong")
	}
	h2, _ := HashPassword("a-good-long-password")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestPasswordPolicy(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short": false, "aaaaaaaaaaaaaaaa": false, "Password1234": false, "my-alice-password": false,
		"correct horse battery": true, "zxcv-bnm,./qw": true,
	} {
		if err := CheckPolicy("alice", pw); (err == nil) != ok {
			t.Errorf("%q: policy says %v", pw, err)
		}
	}
}

func FuzzPasswordHashParsing(f *testing.F) {
	good, _ := HashPassword("seed-password-123")
	f.Add(good, "seed-password-123")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA", "x")
	f.Add("$argon2id$v=19$m=99999999,t=1,p=1$AAAA$"+strings.Repeat("A", 43), "x")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		if len(encoded) > 200 || strings.Contains(encoded, "m=") && !strings.Contains(encoded, "m=1,") {
			// Only cheap parameters get as far as hashing; parsing is what is fuzzed.
			encoded = strings.Replace(encoded, "m=", "m=1", 1)
		}
		CheckPassword(encoded, password) // must not panic
	})
}

func FuzzSessionToken(f *testing.F) {
	s := &sessions{key: []byte("0123456789abcdef0123456789abcdef")}
	f.Add(s.sign(make([]byte, 32)))
	f.Add("s1..")
	f.Add("s1.AAAA.BBBB.CCCC")
	f.Fuzz(func(t *testing.T, token string) {
		hash, ok := s.verify(token)
		if ok && len(hash) != 32 {
			t.Fatal("a verified token must give a 32-byte hash")
		}
		if ok && s.sign(mustRandom(t, token)) != token {
			t.Fatal("a token verified that this key did not sign")
		}
	})
}

func mustRandom(t *testing.T, token string) []byte {
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzUserInput(f *testing.F) {
	f.Add("alice", "Alice", "alice@example.com", "a-long-password!")
	f.Add("bad name", "\x00", "not-an-email", "")
	f.Add("ü", strings.Repeat("x", 200), "<a@b.c>", "aaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, username, display, email, password string) {
		for _, err := range []error{validateUsername(username), validateText("display_name", display, 128), validateEmail(email), CheckPolicy(username, password)} {
			if err != nil {
				if e, ok := err.(*app.Error); !ok || e.Field == "" || e.Status != 400 {
					t.Fatalf("validation errors are 400s that name a field: %#v", err)
				}
			}
		}
		if validateUsername(username) == nil && (len(username) > 64 || strings.ContainsAny(username, " /\x00")) {
			t.Fatalf("accepted username %q", username)
		}
	})
}

func BenchmarkCheckPassword(b *testing.B) {
	h, _ := HashPassword("a-good-long-password")
	b.ReportAllocs()
	for b.Loop() {
		CheckPassword(h, "a-good-long-password")
	}
}

// BenchmarkLogin is a whole sign-in through the API: throttle check, argon2id (m=64 MiB, t=3,
// p=4), session creation and its audit record, on the real database.
func BenchmarkLogin(b *testing.B) {
	dbs := apptest.Databases(b)
	srv := apptest.Start(b, apptest.Config(b, dbs, app.RoleManager), dbs, app.Options{})
	rbactest.Owner(b, srv)
	c := apptest.NewClient(b, srv.URL)
	b.ResetTimer()
	for b.Loop() {
		if r := c.Post("/api/v1/auth/login", map[string]string{"username": "owner", "password": rbactest.OwnerPassword}); r.Status != 200 {
			b.Fatal(r.Status)
		}
	}
}
