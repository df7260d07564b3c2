package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
)

// lockedBuffer is a log destination shared by the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// requestLines returns the access log's records as (method path) → statuses, in order.
func (b *lockedBuffer) requestLines(t *testing.T) map[string][]int {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][]int{}
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg, Method, Path string
			Status            int
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "request" {
			out[rec.Method+" "+rec.Path] = append(out[rec.Method+" "+rec.Path], rec.Status)
		}
	}
	return out
}

// The access log shows the status the client received, the same one /metrics counts, so brute
// force and refused calls are visible in the log.
func TestTheAccessLogShowsTheStatusTheClientReceived(t *testing.T) {
	logs := &lockedBuffer{}
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs), dbs, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	owner := rbactest.Owner(t, srv)
	viewer := rbactest.UserWithRoles(t, srv, owner, "vera", rbactest.RoleID(t, owner, rbac.RoleViewer))
	stranger := apptest.NewClient(t, srv.URL)

	got := map[int]string{} // status → the request that was answered with it
	try := func(want int, c *apptest.Client, method, path string, body any) {
		t.Helper()
		if r := c.Do(method, path, body); r.Status != want {
			t.Fatalf("%s %s answered %d, want %d (the test's premise): %s", method, path, r.Status, want, r.Body)
		}
		got[want] = method + " " + path
	}
	try(http.StatusBadRequest, owner, http.MethodPost, "/api/v1/subnets", []byte(`{"name": 1}`))
	try(http.StatusUnauthorized, stranger, http.MethodGet, "/api/v1/users", nil)
	try(http.StatusForbidden, viewer, http.MethodGet, "/api/v1/users", nil)
	try(http.StatusNotFound, owner, http.MethodGet, "/api/v1/subnets/00000000-0000-4000-8000-000000000000", nil)
	subnet := map[string]any{"name": "lab", "cidr": "10.9.0.0/24"}
	try(http.StatusCreated, owner, http.MethodPost, "/api/v1/subnets", subnet)
	try(http.StatusConflict, owner, http.MethodPost, "/api/v1/subnets", subnet)
	for i := 0; ; i++ {
		r := stranger.Post("/api/v1/auth/login", map[string]string{"username": "nobody", "password": "wrong password"})
		if r.Status == http.StatusTooManyRequests {
			got[http.StatusTooManyRequests] = "POST /api/v1/auth/login"
			break
		}
		if r.Status != http.StatusUnauthorized || i > 50 {
			t.Fatalf("failed sign-in %d answered %d, never 429: %s", i, r.Status, r.Body)
		}
	}

	lines := logs.requestLines(t)
	for status, req := range got {
		found := false
		for _, s := range lines[req] {
			found = found || s == status
		}
		if !found {
			t.Errorf("%s was answered %d but the access log says %v", req, status, lines[req])
		}
	}
	// /metrics counts the same statuses the log shows.
	metrics := string(owner.Get("/metrics").Body) // the owner holds health:view
	for status, req := range got {
		if !strings.Contains(metrics, `status="`+strconv.Itoa(status)+`"`) {
			t.Errorf("/metrics counts no request answered %d (%s)", status, req)
		}
	}
}
