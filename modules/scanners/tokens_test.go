package scanners_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"

	_ "mipo/modules/audit"
	_ "mipo/modules/ingest" // scanners register and report through the scanner API
	_ "mipo/modules/rbac"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

func TestProvisioningTokensWorkOnceAndExpire(t *testing.T) {
	e := scannerstest.Start(t, nil)
	tok := scannerstest.Provision(t, e.Owner, map[string]any{"name": "scan-dmz-1", "expires_in_minutes": 5})
	if !strings.HasPrefix(tok.Secret, "mpt_") || !strings.Contains(tok.Command, tok.Secret) || !strings.Contains(tok.Command, "/scanner/install.sh") {
		t.Fatalf("token answer %+v", tok)
	}
	reg := scannerstest.Register(t, e.Srv.URL, tok.Secret, "host-a")
	if reg.Name != "scan-dmz-1" || !strings.HasPrefix(reg.APIKey, "msk_") {
		t.Fatalf("registered %+v", reg)
	}
	body := map[string]any{"token": tok.Secret, "hostname": "host-b", "version": "test", "capacity": map[string]int{}}
	anon := apptest.NewClient(t, e.Srv.URL)
	r := anon.Post("/scanner/v1/register", body)
	scannerstest.WantError(t, "a used token", r, http.StatusUnauthorized, scanners.CodeInvalidToken)
	if !strings.Contains(string(r.Body), "already used") {
		t.Fatalf("the refusal says why: %s", r.Body)
	}

	late := scannerstest.Provision(t, e.Owner, map[string]any{"expires_in_minutes": 5})
	e.Clock.Advance(5*time.Minute + time.Second)
	scannerstest.WantError(t, "an expired token", anon.Post("/scanner/v1/register", map[string]any{"token": late.Secret}), http.StatusUnauthorized, scanners.CodeInvalidToken)

	revoked := scannerstest.Provision(t, e.Owner, nil)
	if r := e.Owner.Delete("/api/v1/scanners/tokens/" + revoked.Token.ID); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	scannerstest.WantError(t, "a revoked token", anon.Post("/scanner/v1/register", map[string]any{"token": revoked.Secret}), http.StatusUnauthorized, scanners.CodeInvalidToken)
	scannerstest.WantError(t, "a made-up token", anon.Post("/scanner/v1/register", map[string]any{"token": "mpt_aaaaaaaaaaaaaaaa_" + strings.Repeat("x", 43)}),
		http.StatusUnauthorized, scanners.CodeInvalidToken)
	scannerstest.WantError(t, "no token", anon.Post("/scanner/v1/register", map[string]any{}), http.StatusBadRequest, "required")
	scannerstest.WantError(t, "a bad expiry", e.Owner.Post("/api/v1/scanners/tokens", map[string]any{"expires_in_minutes": 100000}), http.StatusBadRequest, "invalid_expiry")

	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM scanners`); n != 1 {
		t.Fatalf("%d scanners after one good registration", n)
	}
	// Each refusal is in the audit log and on the event bus (distinct kinds are not throttled:
	// they come from one address, but are recorded once a minute per kind).
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.request_refused' AND outcome = 'failure'`); n < 1 {
		t.Fatal("refused registrations are not in the audit log")
	}
	if n := e.Count(t, app.DBJobs, `SELECT count(*) FROM events WHERE type = 'scanner.rejected'`); n < 1 {
		t.Fatal("refused registrations emit no scanner.rejected event")
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.register' AND resource_id = $1`, reg.ScannerID); n != 1 {
		t.Fatalf("%d audit records of the registration", n)
	}
	// Listing tokens is an audited read, and shows no secret.
	list := e.Owner.Get("/api/v1/scanners/tokens")
	if list.Status != http.StatusOK || strings.Contains(string(list.Body), tok.Secret) || !strings.Contains(string(list.Body), `"used"`) {
		t.Fatalf("token list: %d %s", list.Status, list.Body)
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner_token.list'`); n != 1 {
		t.Fatal("listing tokens was not audited")
	}
}
