package scanners_test

import (
	"net/http"
	"strings"
	"testing"

	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"
)

// With no public FQDN set, install commands name the host the request was addressed to: the
// one a trusted proxy forwarded, and never one a stranger's header claims.
func TestInstallCommandsFollowOnlyATrustedProxysForwardedHost(t *testing.T) {
	serverOf := func(e *scannerstest.Env) string {
		t.Helper()
		e.Owner.Header.Set("X-Forwarded-Host", "mipo.example.test")
		defer e.Owner.Header.Del("X-Forwarded-Host")
		var info scanners.InstallInfo
		r := e.Owner.Get("/api/v1/scanners/install")
		if r.Status != http.StatusOK {
			t.Fatalf("install info: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &info)
		return info.Server
	}
	behind := scannerstest.Start(t, map[string]string{"MIPO_TRUSTED_PROXIES": "127.0.0.0/8"})
	if got := serverOf(behind); got != "http://mipo.example.test" {
		t.Fatalf("behind a trusted proxy: server %q, want the forwarded http://mipo.example.test", got)
	}
	direct := scannerstest.Start(t, nil)
	if got := serverOf(direct); strings.Contains(got, "example") || !strings.HasPrefix(got, strings.TrimSuffix(direct.Srv.URL, "/")) {
		t.Fatalf("from an untrusted peer: server %q, want this server's own %s", got, direct.Srv.URL)
	}
}
