package scannerstest

import (
	"context"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

// T0 is when an Env's clock starts.
var T0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// Env is a whole mipo (every role the test binary links in) on fresh databases, with a clock the
// test moves and the owner signed in.
type Env struct {
	Srv   *apptest.Server
	Owner *apptest.Client
	Clock *app.FakeClock
}

// Start runs mipo with extra settings and signs the owner in.
func Start(t *testing.T, extra map[string]string) *Env {
	t.Helper()
	dbs := apptest.Databases(t)
	clock := app.NewFakeClock(T0)
	srv := apptest.Start(t, Config(t, dbs, extra), dbs, app.Options{Clock: clock})
	return &Env{Srv: srv, Owner: rbactest.Owner(t, srv), Clock: clock}
}

// Scanner provisions and registers one scanner from 127.0.0.1, and returns a client holding its
// key.
func (e *Env) Scanner(t *testing.T, hostname string) (Registered, *apptest.Client) {
	t.Helper()
	tok := Provision(t, e.Owner, nil)
	reg := Register(t, e.Srv.URL, tok.Secret, hostname)
	return reg, Scanner(t, e.Srv.URL, reg.APIKey)
}

// Count runs a count query on one of the databases.
func (e *Env) Count(t *testing.T, db, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Srv.App.DB.Pool(db).QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// WantError fails the test unless r is the error status and code wanted.
func WantError(t *testing.T, what string, r *apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}
