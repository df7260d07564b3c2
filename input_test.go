package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
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

// A NUL or bytes that are not UTF-8 in a query or path parameter reached PostgreSQL from
// several lists (users, scanners, scanner groups, the audit log and its export) as a 500; now
// every route refuses them with a 400 naming the parameter, before a guard or handler runs.
func TestEveryRouteRefusesParametersTheDatabaseCannotCompare(t *testing.T) {
	srv, _ := allRoutes(t)
	owner := rbactest.Owner(t, srv)
	raw, err := srv.App.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tried := 0
	for path, ops := range doc.Paths {
		op, ok := ops["get"]
		if !ok {
			continue
		}
		names := []string{"q"}
		for _, p := range op.Parameters {
			if p.In == "query" {
				names = append(names, p.Name)
			}
		}
		for _, name := range names {
			for _, v := range []string{"a\x00b", "a\xffb"} {
				r := owner.Get(concrete(pathID.ReplaceAllStringFunc(path, func(p string) string { return ":" + p[1:len(p)-1] })) + "?" + url.Values{name: {v}}.Encode())
				tried++
				if r.Status != http.StatusBadRequest || r.ErrorField() != name {
					t.Errorf("GET %s?%s=%q: %d %.200s", path, name, v, r.Status, r.Body)
				}
			}
		}
	}
	for _, id := range []string{"a%00b", "a%FFb"} {
		if r := owner.Get("/api/v1/subnets/" + id); r.Status != http.StatusBadRequest || r.ErrorField() != "id" {
			t.Errorf("GET /api/v1/subnets/%s: %d %s", id, r.Status, r.Body)
		}
	}
	t.Logf("%d requests", tried)
}
