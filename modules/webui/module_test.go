package webui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"

	"mipo/app"
)

// newApp builds a manager process holding this module and a stand-in API module with one route,
// so the test sees the interface and the API side by side, as they are served.
func newApp(t *testing.T) http.Handler {
	t.Helper()
	reg := app.NewRegistry()
	reg.Register(Module)
	reg.Role(app.RoleManager, "webui", "api")
	reg.Register(app.Module{Name: "api", Provision: func(m *app.Mount) error {
		m.Route(app.Route{Method: http.MethodGet, Path: "/api/v1/ping", Scope: app.Public, Response: map[string]string{},
			Handler: func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"pong": "yes"}) }})
		return nil
	}})
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_ROLE": "manager"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Options{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a.Handler()
}

func do(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPagePathsGetIndexWithCSPAndNoCache(t *testing.T) {
	h := newApp(t)
	for _, p := range []string{"/", "/audit", "/docs/audit", "/users?role=x&sort=-created_at", "/login", "/docs", "/apix", "/scannerish"} {
		rec := do(t, h, http.MethodGet, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q, want text/html", p, ct)
		}
		if !strings.Contains(rec.Body.String(), `<div id="app">`) {
			t.Errorf("GET %s: not index.html: %.200s", p, rec.Body.String())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, cc)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP allows inline code: %q", p, csp)
		}
	}
	if rec := do(t, h, http.MethodHead, "/audit"); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /audit: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestAssetsAreCachedForAYear(t *testing.T) {
	h := newApp(t)
	index := do(t, h, http.MethodGet, "/").Body.String()
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) == 0 {
		t.Fatalf("index.html names no assets: %s", index)
	}
	for _, m := range refs {
		rec := do(t, h, http.MethodGet, m[1])
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Fatalf("GET %s: %d, %d bytes", m[1], rec.Code, rec.Body.Len())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", m[1], cc)
		}
		if ct := rec.Header().Get("Content-Type"); strings.HasSuffix(m[1], ".js") && !strings.Contains(ct, "javascript") {
			t.Errorf("GET %s: Content-Type %q", m[1], ct)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no CSP", m[1])
		}
		// Compressed when asked, and the same bytes once unpacked.
		gz := do(t, h, http.MethodGet, m[1], "Accept-Encoding", "gzip, deflate")
		if gz.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(gz.Body)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if !bytes.Equal(plain, rec.Body.Bytes()) {
				t.Errorf("GET %s: gzip body differs from the plain one", m[1])
			}
		} else if strings.HasSuffix(m[1], ".js") && rec.Body.Len() > 4096 {
			t.Errorf("GET %s: %d bytes of script sent uncompressed to a gzip client", m[1], rec.Body.Len())
		}
		// Revalidation answers 304 without a body.
		if nm := do(t, h, http.MethodGet, m[1], "If-None-Match", rec.Header().Get("ETag")); nm.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", m[1], nm.Code)
		}
	}
	if rec := do(t, h, http.MethodGet, "/favicon.svg"); rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "svg") {
		t.Errorf("GET /favicon.svg: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestAPIPathsNeverGetIndex(t *testing.T) {
	h := newApp(t)
	cases := []struct{ method, path string }{
		{http.MethodGet, "/api/v1/nonexistent"},
		{http.MethodGet, "/api/v1/"},
		{http.MethodGet, "/api"},
		{http.MethodPost, "/api/v1/nonexistent"},
		{http.MethodDelete, "/api/v1/users/123"},
		{http.MethodGet, "/scanner/v1/nonexistent"},
		{http.MethodGet, "/healthz/extra"},
		{http.MethodGet, "/metrics/x"},
		{http.MethodGet, "/assets/does-not-exist.js"},
		{http.MethodPost, "/audit"},
	}
	for _, c := range cases {
		rec := do(t, h, c.method, c.path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, rec.Code)
			continue
		}
		var body app.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil || body.Error.Code != "not_found" {
			t.Errorf("%s %s: want the API's JSON 404, got %q", c.method, c.path, rec.Body.String())
		}
	}
	// The API's own routes are untouched.
	if rec := do(t, h, http.MethodGet, "/api/v1/ping"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "pong") {
		t.Errorf("GET /api/v1/ping: %d %s", rec.Code, rec.Body.String())
	}
}

func TestRoutesArePublicAndOutsideTheAPI(t *testing.T) {
	s, err := newSite(fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.routes() {
		if r.Scope != app.Public {
			t.Errorf("%s %s has scope %q; the interface's files are public (the API behind them is not)", r.Method, r.Path, r.Scope)
		}
		if strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/scanner/") {
			t.Errorf("%s %s is inside an API's path space", r.Method, r.Path)
		}
	}
	if _, err := newSite(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}); err == nil || !strings.Contains(err.Error(), "make ui") {
		t.Errorf("a build without index.html must fail the start with a hint, got %v", err)
	}
}
