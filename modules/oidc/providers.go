package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/rbac/rbacapi"
	"mipo/modules/settings/settingsapi"
)

// Provider is an OpenID Connect provider as the API shows it. The client secret is never in
// it: reading the secret is its own, audited, request.
type Provider struct {
	ID            string     `json:"id"`
	DisplayName   string     `json:"display_name" doc:"The provider's name in mipo's pages and audit log."`
	ButtonLabel   string     `json:"button_label" doc:"The text of its button on the sign-in page."`
	Issuer        string     `json:"issuer" doc:"The issuer URL; mipo reads <issuer>/.well-known/openid-configuration."`
	ClientID      string     `json:"client_id"`
	SecretSet     bool       `json:"client_secret_set" doc:"Whether a client secret is stored (it is shown only through GET …/secret)."`
	Scopes        []string   `json:"scopes" doc:"Scopes requested; openid is always among them."`
	Enabled       bool       `json:"enabled" doc:"Only enabled providers are offered on the sign-in page and accepted."`
	LinkByEmail   bool       `json:"link_by_email" doc:"Bind a first sign-in to the existing user with the same email address, when the provider says the address is verified."`
	CreateUsers   bool       `json:"create_users" doc:"Create a user at the first sign-in of someone mipo does not know (just-in-time)."`
	DefaultRoleID *string    `json:"default_role_id" doc:"Role given when no rule matches; none: such a sign-in is refused."`
	RoleRules     []RoleRule `json:"role_rules" doc:"Claim value to role rules, re-evaluated at every sign-in: the user's roles become exactly the matched ones."`
	CallbackURL   string     `json:"callback_url" doc:"The redirect URI to register at the provider."`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ProviderInput is the body of POST and PATCH /api/v1/oidc/providers; in a PATCH, absent
// fields are left as they are.
type ProviderInput struct {
	DisplayName   *string     `json:"display_name,omitempty"`
	ButtonLabel   *string     `json:"button_label,omitempty"`
	Issuer        *string     `json:"issuer,omitempty"`
	ClientID      *string     `json:"client_id,omitempty"`
	ClientSecret  *string     `json:"client_secret,omitempty" audit:"secret" doc:"Stored encrypted; never returned by reads of the provider."`
	Scopes        *[]string   `json:"scopes,omitempty"`
	Enabled       *bool       `json:"enabled,omitempty"`
	LinkByEmail   *bool       `json:"link_by_email,omitempty"`
	CreateUsers   *bool       `json:"create_users,omitempty"`
	DefaultRoleID *string     `json:"default_role_id,omitempty" doc:"A role id, or \"\" for none."`
	RoleRules     *[]RoleRule `json:"role_rules,omitempty"`
}

// ProviderSecret is the body of GET /api/v1/oidc/providers/{id}/secret.
type ProviderSecret struct {
	ClientSecret string `json:"client_secret"`
}

// PublicProvider is what the sign-in page shows of an enabled provider.
type PublicProvider struct {
	ID          string `json:"id"`
	ButtonLabel string `json:"button_label"`
	LoginURL    string `json:"login_url" doc:"Open this in the browser to sign in through the provider."`
}

const secretPurpose = "oidc.provider.client_secret"

type handlers struct {
	m       *app.Mount
	signIns rbacapi.SignIns
}

func (h *handlers) pool() app.ConfigDB { return h.m.ConfigDB }

func (h *handlers) providerRoutes() []app.Route {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []app.Route{
		{Method: get, Path: "/api/v1/oidc/providers", Scope: "settings:view", Handler: h.listProviders, Query: app.ListQuery{}, Response: app.Page[*Provider]{},
			Summary: "OpenID Connect providers, with the callback URL to register at each"},
		{Method: post, Path: "/api/v1/oidc/providers", Scope: "settings:write", Handler: auditapi.Handler(http.StatusCreated, h.createProvider), Request: ProviderInput{}, Response: Provider{}, Status: http.StatusCreated,
			Summary: "Add an OpenID Connect provider"},
		{Method: get, Path: "/api/v1/oidc/providers/:id", Scope: "settings:view", Handler: h.getProvider, Response: Provider{},
			Summary: "One OpenID Connect provider"},
		{Method: patch, Path: "/api/v1/oidc/providers/:id", Scope: "settings:write", Handler: auditapi.Handler(http.StatusOK, h.updateProvider), Request: ProviderInput{}, Response: Provider{},
			Summary: "Change an OpenID Connect provider; absent fields are left as they are"},
		{Method: del, Path: "/api/v1/oidc/providers/:id", Scope: "settings:write", Handler: auditapi.Handler(http.StatusNoContent, h.deleteProvider), Status: http.StatusNoContent,
			Summary: "Remove an OpenID Connect provider; its users keep their accounts"},
		{Method: get, Path: "/api/v1/oidc/providers/:id/secret", Scope: "settings:write", Handler: h.getSecret, Response: ProviderSecret{}, Sensitive: true,
			Summary: "A provider's client secret, decrypted (an audited read)"},
	}
}

const providerColumns = `id, display_name, button_label, issuer, client_id, client_secret <> '', scopes, enabled, link_by_email,
	create_users, default_role_id, role_rules, created_at, updated_at`

func scanProvider(row pgx.Row) (*Provider, error) {
	p := &Provider{}
	err := row.Scan(&p.ID, &p.DisplayName, &p.ButtonLabel, &p.Issuer, &p.ClientID, &p.SecretSet, &p.Scopes, &p.Enabled,
		&p.LinkByEmail, &p.CreateUsers, &p.DefaultRoleID, &p.RoleRules, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("provider")
	}
	if p.RoleRules == nil {
		p.RoleRules = []RoleRule{}
	}
	return p, err
}

func getProvider(ctx context.Context, db app.Querier, id string) (*Provider, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("provider")
	}
	return scanProvider(db.QueryRow(ctx, `SELECT `+providerColumns+` FROM oidc_providers WHERE id = $1`, id))
}

// validate checks a provider after a create or patch was applied to it.
func (h *handlers) validate(ctx context.Context, db app.Querier, p *Provider) error {
	for _, f := range []struct{ name, v string }{{"display_name", p.DisplayName}, {"button_label", p.ButtonLabel}, {"client_id", p.ClientID}} {
		if strings.TrimSpace(f.v) == "" {
			return app.Invalid(f.name, "required", f.name+" is required")
		}
		if len(f.v) > 200 || strings.IndexFunc(f.v, unicode.IsControl) >= 0 {
			return app.Invalid(f.name, "invalid_text", f.name+" must be at most 200 characters without control characters")
		}
	}
	if err := validateIssuer(p.Issuer); err != nil {
		return err
	}
	if !slices.Contains(p.Scopes, "openid") {
		p.Scopes = append([]string{"openid"}, p.Scopes...)
	}
	for _, s := range p.Scopes {
		if s == "" || len(s) > 100 || strings.ContainsAny(s, " \t\r\n\"\\") {
			return app.Invalid("scopes", "invalid_scope", "a scope is 1 to 100 characters without spaces or quotes, such as email")
		}
	}
	if err := validateRules(p.RoleRules); err != nil {
		return err
	}
	ids := []string{}
	for _, r := range p.RoleRules {
		ids = append(ids, r.RoleID)
	}
	if p.DefaultRoleID != nil {
		ids = append(ids, *p.DefaultRoleID)
	}
	known, err := rbacapi.RolesByID(ctx, db, ids)
	if err != nil {
		return err
	}
	for i, r := range p.RoleRules {
		if !slices.ContainsFunc(known, func(k rbacapi.RoleRef) bool { return k.ID == r.RoleID }) {
			return app.Invalid("role_rules", "unknown_role", "rule "+itoa(i+1)+" names no existing role")
		}
	}
	if p.DefaultRoleID != nil && !slices.ContainsFunc(known, func(k rbacapi.RoleRef) bool { return k.ID == *p.DefaultRoleID }) {
		return app.Invalid("default_role_id", "unknown_role", "no role with this id")
	}
	return nil
}

// validateIssuer accepts an absolute http(s) URL without query or fragment. Plain http is
// allowed (a provider on the same host or in a lab); the operator sees the URL they typed.
func validateIssuer(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || len(v) > 500 {
		return app.Invalid("issuer", "invalid_issuer", "the issuer is the provider's https:// URL, such as https://login.example.com/realms/main, without ? or #")
	}
	return nil
}

// apply copies the fields present in a patch onto p, sealing a new client secret. It returns
// the sealed secret, or "" when the patch leaves it alone.
func (h *handlers) apply(p *Provider, in ProviderInput) (sealed string, err error) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&p.DisplayName, in.DisplayName)
	set(&p.ButtonLabel, in.ButtonLabel)
	set(&p.Issuer, in.Issuer)
	set(&p.ClientID, in.ClientID)
	if in.Scopes != nil {
		p.Scopes = *in.Scopes
	}
	for dst, v := range map[*bool]*bool{&p.Enabled: in.Enabled, &p.LinkByEmail: in.LinkByEmail, &p.CreateUsers: in.CreateUsers} {
		if v != nil {
			*dst = *v
		}
	}
	if in.DefaultRoleID != nil {
		p.DefaultRoleID = in.DefaultRoleID
		if *in.DefaultRoleID == "" {
			p.DefaultRoleID = nil
		}
	}
	if in.RoleRules != nil {
		p.RoleRules = *in.RoleRules
	}
	if in.ClientSecret != nil {
		p.SecretSet = *in.ClientSecret != ""
		return h.m.Secrets.Seal(secretPurpose, *in.ClientSecret)
	}
	return "", nil
}

func (h *handlers) listProviders(c echo.Context) error {
	l, err := app.ParseList(c, "display_name", "created_at")
	if err != nil {
		return err
	}
	rows, err := h.pool().Query(c.Request().Context(), `SELECT `+providerColumns+` FROM oidc_providers ORDER BY `+l.Sort+` `+l.Direction()+`, id LIMIT $1 OFFSET $2`, l.Limit+1, l.Offset)
	items, err := app.Collect(rows, err, scanProvider)
	if err != nil {
		return err
	}
	base, err := settingsapi.PublicURL(c.Request().Context(), h.pool(), c)
	if err != nil {
		return err
	}
	for _, p := range items {
		p.CallbackURL = base + callbackPath(p.ID)
	}
	return c.JSON(http.StatusOK, app.Paginate(l, items))
}

func (h *handlers) getProvider(c echo.Context) error {
	p, err := h.read(c, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// read reads the provider back with its callback URL, as every answer shows it.
func (h *handlers) read(c echo.Context, db app.Querier, id string) (*Provider, error) {
	p, err := getProvider(c.Request().Context(), db, id)
	if err != nil {
		return nil, err
	}
	base, err := settingsapi.PublicURL(c.Request().Context(), h.pool(), c)
	if err != nil {
		return nil, err
	}
	p.CallbackURL = base + callbackPath(p.ID)
	return p, nil
}

func (h *handlers) createProvider(ctx context.Context, tx pgx.Tx, c echo.Context, in ProviderInput) (any, auditapi.Entry, error) {
	now := h.m.Clock.Now()
	p := &Provider{ID: uuid.NewString(), Scopes: []string{"openid", "profile", "email"}, Enabled: true, RoleRules: []RoleRule{}, CreatedAt: now, UpdatedAt: now}
	if in.ButtonLabel == nil && in.DisplayName != nil {
		label := "Sign in with " + *in.DisplayName
		in.ButtonLabel = &label
	}
	sealed, err := h.apply(p, in)
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	if err := h.validate(ctx, tx, p); err != nil {
		return nil, auditapi.Entry{}, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO oidc_providers (id, display_name, button_label, issuer, client_id, client_secret, scopes, enabled,
		link_by_email, create_users, default_role_id, role_rules, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		p.ID, p.DisplayName, p.ButtonLabel, p.Issuer, p.ClientID, sealed, p.Scopes, p.Enabled, p.LinkByEmail, p.CreateUsers, p.DefaultRoleID, p.RoleRules, now)
	if err := nameTaken(err); err != nil {
		return nil, auditapi.Entry{}, err
	}
	out, err := h.read(c, tx, p.ID)
	return out, auditapi.Entry{Action: "oidc_provider.create", ResourceType: "oidc_provider", ResourceID: p.ID, After: p,
		Detail: map[string]any{"client_secret_set": p.SecretSet}}, err
}

func (h *handlers) updateProvider(ctx context.Context, tx pgx.Tx, c echo.Context, in ProviderInput) (any, auditapi.Entry, error) {
	before, err := getProvider(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	after := *before
	after.Scopes, after.RoleRules = slices.Clone(before.Scopes), slices.Clone(before.RoleRules)
	sealed, err := h.apply(&after, in)
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	if err := h.validate(ctx, tx, &after); err != nil {
		return nil, auditapi.Entry{}, err
	}
	after.UpdatedAt = h.m.Clock.Now()
	_, err = tx.Exec(ctx, `UPDATE oidc_providers SET display_name = $2, button_label = $3, issuer = $4, client_id = $5,
		client_secret = CASE WHEN $6 THEN $7 ELSE client_secret END, scopes = $8, enabled = $9, link_by_email = $10, create_users = $11,
		default_role_id = $12, role_rules = $13, updated_at = $14 WHERE id = $1`,
		after.ID, after.DisplayName, after.ButtonLabel, after.Issuer, after.ClientID, in.ClientSecret != nil, sealed, after.Scopes,
		after.Enabled, after.LinkByEmail, after.CreateUsers, after.DefaultRoleID, after.RoleRules, after.UpdatedAt)
	if err := nameTaken(err); err != nil {
		return nil, auditapi.Entry{}, err
	}
	out, err := h.read(c, tx, after.ID)
	return out, auditapi.Entry{Action: "oidc_provider.update", ResourceType: "oidc_provider", ResourceID: after.ID,
		Before: before, After: &after, Detail: map[string]any{"client_secret_changed": in.ClientSecret != nil}}, err
}

// nameTaken turns the unique index on display_name into the field's error.
func nameTaken(err error) error {
	if app.IsUniqueViolation(err) {
		return app.Invalid("display_name", "name_taken", "another provider has this name")
	}
	return err
}

func (h *handlers) deleteProvider(ctx context.Context, tx pgx.Tx, c echo.Context, _ auditapi.NoBody) (any, auditapi.Entry, error) {
	p, err := getProvider(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM oidc_providers WHERE id = $1`, p.ID)
	return nil, auditapi.Entry{Action: "oidc_provider.delete", ResourceType: "oidc_provider", ResourceID: p.ID, Before: p}, err
}

func (h *handlers) getSecret(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := getProvider(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	secret, err := h.clientSecret(ctx, h.pool(), p.ID)
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.pool(), auditapi.Entry{Action: "oidc_provider.secret_read", ResourceType: "oidc_provider", ResourceID: p.ID, ResourceName: p.DisplayName}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ProviderSecret{ClientSecret: secret})
}

// clientSecret decrypts a provider's client secret ("" when none is stored).
func (h *handlers) clientSecret(ctx context.Context, db app.Querier, id string) (string, error) {
	var sealed string
	if err := db.QueryRow(ctx, `SELECT client_secret FROM oidc_providers WHERE id = $1`, id).Scan(&sealed); err != nil {
		return "", err
	}
	if sealed == "" {
		return "", nil
	}
	return h.m.Secrets.Open(secretPurpose, sealed)
}
