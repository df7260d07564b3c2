package config_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/audit"
	_ "mipo/modules/config"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// start runs a manager on fresh databases with a clock the test moves, and signs the owner in.
func start(t testing.TB) (*apptest.Server, *apptest.Client, *app.FakeClock) {
	t.Helper()
	clock := app.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs, app.RoleManager), dbs, app.Options{Clock: clock})
	return srv, rbactest.Owner(t, srv), clock
}

// create posts body and returns the new object's id, failing the test unless it was created.
func create(t testing.TB, c *apptest.Client, path string, body any) string {
	t.Helper()
	r := c.Post(path, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	var o struct{ ID string }
	r.JSON(t, &o)
	return o.ID
}

// patch changes an object, failing the test unless it answers 200.
func patch(t testing.TB, c *apptest.Client, path string, body any) map[string]any {
	t.Helper()
	r := c.Patch(path, body)
	if r.Status != http.StatusOK {
		t.Fatalf("PATCH %s: %d %s", path, r.Status, r.Body)
	}
	var o map[string]any
	r.JSON(t, &o)
	return o
}

// get reads path into v, failing the test unless it answers 200.
func get(t testing.TB, c *apptest.Client, path string, v any) {
	t.Helper()
	r := c.Get(path)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	r.JSON(t, v)
}

// wantError checks an error response's status, code and field, and that its message holds
// every one of parts.
func wantError(t testing.TB, r *apptest.Response, status int, code, field string, parts ...string) {
	t.Helper()
	var body app.ErrorBody
	if r.Status != status || json.Unmarshal(r.Body, &body) != nil || body.Error == nil {
		t.Fatalf("want %d %s, got %d %s", status, code, r.Status, r.Body)
	}
	if body.Error.Code != code || body.Error.Field != field {
		t.Fatalf("want code %s on field %q, got %s on %q: %s", code, field, body.Error.Code, body.Error.Field, body.Error.Message)
	}
	for _, p := range parts {
		if !strings.Contains(body.Error.Message, p) {
			t.Fatalf("the message %q does not say %q", body.Error.Message, p)
		}
	}
}

// countRows counts the rows of a config table matching a condition, straight from the database.
func countRows(t testing.TB, srv *apptest.Server, table, cond string, args ...any) int {
	t.Helper()
	var n int
	if err := srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM `+table+` WHERE `+cond, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// names lists the names of a page of objects.
func names(t testing.TB, c *apptest.Client, path string) []string {
	t.Helper()
	var page struct {
		Items []struct{ Name string }
	}
	get(t, c, path, &page)
	out := []string{}
	for _, o := range page.Items {
		out = append(out, o.Name)
	}
	return out
}
