package scanners

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) tokenRoutes() []app.Route {
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete
	return []app.Route{
		{Method: get, Path: "/api/v1/scanners/tokens", Scope: "scanners:manage", Handler: h.listTokens, Query: TokenQuery{}, Response: app.Page[*ProvisioningToken]{},
			Sensitive: true, Summary: "Provisioning tokens, never their secrets (an audited read)"},
		{Method: post, Path: "/api/v1/scanners/tokens", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusCreated, h.createToken), Request: CreateToken{}, Response: NewProvisioningToken{},
			Status: http.StatusCreated, Summary: "Create a single-use, short-lived provisioning token and the command that installs a scanner with it (shown once)"},
		{Method: del, Path: "/api/v1/scanners/tokens/:id", Scope: "scanners:manage", Handler: auditapi.Handler(http.StatusNoContent, h.revokeToken), Status: http.StatusNoContent,
			Summary: "Revoke an unused provisioning token"},
	}
}

// NewProvisioningToken is the answer to a token's creation: the only time its secret is shown.
type NewProvisioningToken struct {
	Token       ProvisioningToken `json:"token"`
	Secret      string            `json:"secret" doc:"The token itself (mpt_…). Shown once."`
	Command     string            `json:"command" doc:"The one-line install command for the scanner's host, with the token in it. Shown once."`
	Server      string            `json:"server"`
	Pin         string            `json:"pin"`
	SHA256      string            `json:"sha256" doc:"The SHA-256 the installer checks the downloaded mipo-scanner against."`
	BinaryError string            `json:"binary_error" doc:"Set when this mipo has no mipo-scanner to hand out: the command would fail until it has."`
}

func (h *handlers) listTokens(c echo.Context) error {
	l, err := app.ParseList(c, "-created_at", "expires_at", "name")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := listTokens(ctx, h.pool(), l, c.QueryParam("status"), h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.pool(), auditapi.Entry{Action: "scanner_token.list", ResourceType: "scanner_token"}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) createToken(ctx context.Context, tx pgx.Tx, c echo.Context, in CreateToken) (any, auditapi.Entry, error) {
	info, err := h.install(ctx, tx, c)
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	p := app.PrincipalFrom(ctx)
	t, secret, err := createToken(ctx, tx, in, h.asn, p.Name, h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	out := NewProvisioningToken{Token: *t, Secret: secret, Server: info.Server, Pin: info.Pin, BinaryError: info.BinaryError}
	if info.Binary != nil {
		out.SHA256 = info.Binary.SHA256
	}
	if out.Command, err = InstallCommand(info.Server, info.Pin, out.SHA256, secret); err != nil {
		return nil, auditapi.Entry{}, app.Conflict("server_url", "cannot write the install command: "+err.Error()+"; set the public FQDN under Settings")
	}
	return out, auditapi.Entry{Action: "scanner_token.create", ResourceType: "scanner_token", ResourceID: t.ID, After: t,
		Detail: map[string]any{"shown_once": true, "server": info.Server}}, nil
}

func (h *handlers) revokeToken(ctx context.Context, tx pgx.Tx, c echo.Context, in auditapi.NoBody) (any, auditapi.Entry, error) {
	before, after, err := revokeToken(ctx, tx, c.Param("id"), h.m.Clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "scanner_token.revoke", ResourceType: "scanner_token", ResourceID: after.ID, Before: before, After: after}, nil
}
