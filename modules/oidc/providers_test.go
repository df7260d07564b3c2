package oidc_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// The client secret is stored sealed, never shown by reads of the provider, and reading it
// is its own audited request.
func TestTheClientSecretIsSealedAndReadingItIsAudited(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", nil)
	var stored string
	e.srv.DBs.Config.QueryRow(context.Background(), `SELECT client_secret FROM oidc_providers WHERE id = $1`, p.ID).Scan(&stored)
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, "secret-mipo") {
		t.Fatalf("the stored secret is not sealed: %q", stored)
	}
	if r := e.owner.Get("/api/v1/oidc/providers/" + p.ID); strings.Contains(string(r.Body), "secret-mipo") || !strings.Contains(string(r.Body), `"client_secret_set":true`) {
		t.Fatalf("a read of the provider shows the secret or hides that it is set: %s", r.Body)
	}
	var audited int
	count := func() int {
		e.srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'oidc_provider.secret_read' AND resource_id = $1`, p.ID).Scan(&audited)
		return audited
	}
	if count() != 0 {
		t.Fatal("a secret read was audited before any")
	}
	var sec struct {
		ClientSecret string `json:"client_secret"`
	}
	e.owner.Get("/api/v1/oidc/providers/"+p.ID+"/secret").JSON(t, &sec)
	if sec.ClientSecret != "secret-mipo" || count() != 1 {
		t.Fatalf("secret %q, %d audit records", sec.ClientSecret, audited)
	}
}

// Bad input is refused with the field named, and changes nothing.
func TestABadProviderIsRefusedNamingTheField(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", nil)
	good := map[string]any{"display_name": "Corp", "issuer": "https://login.example.com", "client_id": "mipo"}
	for field, bad := range map[string]any{
		"issuer":          "ftp://login.example.com",
		"display_name":    "",
		"client_id":       " ",
		"scopes":          []string{"openid", "has space"},
		"default_role_id": "7b0c6d3e-0000-4000-8000-000000000000",
		"role_rules":      []any{map[string]string{"claim": "", "value": "x", "role_id": e.roles["viewer"]}},
	} {
		body := map[string]any{}
		for k, v := range good {
			body[k] = v
		}
		body[field] = bad
		if r := e.owner.Post("/api/v1/oidc/providers", body); r.Status != http.StatusBadRequest || r.ErrorField() != field {
			t.Errorf("create with bad %s: %d %s", field, r.Status, r.Body)
		}
		if r := e.owner.Patch("/api/v1/oidc/providers/"+p.ID, map[string]any{field: bad}); r.Status != http.StatusBadRequest || r.ErrorField() != field {
			t.Errorf("patch with bad %s: %d %s", field, r.Status, r.Body)
		}
	}
	var n int
	var issuer string
	e.srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*), min(issuer) FROM oidc_providers`).Scan(&n, &issuer)
	if n != 1 || issuer != e.idp.Issuer {
		t.Fatalf("refused requests changed the providers: %d %s", n, issuer)
	}
	viewer := rbactestUser(t, e, "settings:view")
	if r := viewer.Get("/api/v1/oidc/providers/" + p.ID + "/secret"); r.Status != http.StatusForbidden {
		t.Fatalf("settings:view reads the secret: %d", r.Status)
	}
}

// The callback URL follows the public FQDN setting when it is set, else the request's host.
func TestTheCallbackURLUsesThePublicFQDN(t *testing.T) {
	e := start(t)
	p := e.addProvider("mipo", nil) // checks the request-host form
	if r := e.owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": "mipo.example.com"}); r.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	var got provider
	e.owner.Get("/api/v1/oidc/providers/"+p.ID).JSON(t, &got)
	if got.CallbackURL != "https://mipo.example.com/api/v1/auth/oidc/"+p.ID+"/callback" {
		t.Fatalf("callback URL with the FQDN set: %q", got.CallbackURL)
	}
}
