package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

// Text PostgreSQL cannot store (a NUL) or will not index (thousands of bytes) is refused at the
// edge with a 400 naming the field, before any handler runs: at sign-in it used to be a 500,
// with nothing in the audit log.
func TestSignInRefusesTextTheDatabaseCannotStore(t *testing.T) {
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs), dbs, app.Options{})
	rbactest.Owner(t, srv)
	stranger := apptest.NewClient(t, srv.URL)
	// Every sign-in that reaches the handler leaves an audit record; a refused one leaves none.
	count := func() int {
		var n int
		if err := srv.App.DB.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for what, body := range map[string]map[string]string{
		"a NUL in the username":                  {"username": "owner\x00", "password": "x"},
		"a NUL in the password":                  {"username": "owner", "password": "x\x00y"},
		"a very long username":                   {"username": strings.Repeat("u", 100000), "password": "x"},
		"a long multibyte name":                  {"username": strings.Repeat("é", 2000), "password": "x"},
		"a long username that does not compress": {"username": incompressible(4000), "password": "x"},
		"a very long password":                   {"username": "owner", "password": strings.Repeat("p", 100000)},
	} {
		r := stranger.Post("/api/v1/auth/login", body)
		field := "username"
		if strings.Contains(what, "password") {
			field = "password"
		}
		if r.Status != http.StatusBadRequest || r.ErrorField() != field {
			t.Errorf("%s: %d %s, want 400 naming %s", what, r.Status, r.Body, field)
		}
	}
	if n := count(); n != before {
		t.Fatalf("refused sign-ins stored %d audit records", n-before)
	}
}

// incompressible is n letters PostgreSQL cannot shrink below its index row limit (~2.7 kB).
func incompressible(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(rng.IntN(26))
	}
	return string(b)
}
