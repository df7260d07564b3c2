package app

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// Forwarded scheme and host count only from a trusted proxy, and a forwarded host that is not
// a plain host[:port] is never taken.
func TestRequestSchemeAndBaseBelieveOnlyTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		viaProxy             bool
		proto, host          string
		wantScheme, wantBase string
	}{
		{"stranger", false, "https", "mipo.example.test", "http", "http://10.9.8.7:8443"},
		{"trusted proxy", true, "https", "mipo.example.test", "https", "https://mipo.example.test"},
		{"trusted proxy, list", true, "https, http", "mipo.example.test:9443, other", "https", "https://mipo.example.test:9443"},
		{"trusted proxy, bad host", true, "gopher", "evil.test/'; rm -rf /", "http", "http://10.9.8.7:8443"},
		{"trusted proxy, nothing forwarded", true, "", "", "http", "http://10.9.8.7:8443"},
	} {
		r := httptest.NewRequest("GET", "http://10.9.8.7:8443/api/v1/scanners/install", nil)
		r.Header.Set("X-Forwarded-Proto", tc.proto)
		r.Header.Set("X-Forwarded-Host", tc.host)
		r = r.WithContext(WithRequestMeta(r.Context(), RequestMeta{ViaProxy: tc.viaProxy}))
		c := echo.New().NewContext(r, httptest.NewRecorder())
		if got := RequestScheme(c); got != tc.wantScheme {
			t.Errorf("%s: scheme %q, want %q", tc.name, got, tc.wantScheme)
		}
		if got := RequestBase(c); got != tc.wantBase {
			t.Errorf("%s: base %q, want %q", tc.name, got, tc.wantBase)
		}
	}
}
