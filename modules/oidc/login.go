package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/rbac/rbacapi"
	"mipo/modules/settings/settingsapi"
)

// loginTTL is how long a sign-in may stay at the provider before its state is refused.
const loginTTL = 10 * time.Minute

// stateCookie binds a sign-in under way to the browser that began it, so a callback carrying
// someone else's state (login CSRF) is refused.
const stateCookie = "mipo_oidc_state"

// EndSession is the body of GET /api/v1/auth/oidc/end-session.
type EndSession struct {
	URL string `json:"url" doc:"Where to send the browser after signing out to end the provider's session too; empty when the session did not come from a provider that offers it."`
}

func (h *handlers) loginRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: "/api/v1/auth/oidc/providers", Scope: app.Public, Handler: h.listEnabled, Response: app.Page[PublicProvider]{},
			Summary: "The providers offered on the sign-in page"},
		{Method: get, Path: "/api/v1/auth/oidc/:id/start", Scope: app.Public, Handler: h.start, Status: http.StatusFound,
			Summary: "Begin signing in through a provider: redirects the browser to it"},
		{Method: get, Path: "/api/v1/auth/oidc/:id/callback", Scope: app.Public, Handler: h.callback, Status: http.StatusFound,
			Summary: "Where the provider sends the browser back; signs in and redirects to the UI (or to the sign-in page with the reason)"},
		{Method: get, Path: "/api/v1/auth/oidc/end-session", Scope: app.SignedIn, Handler: h.endSession, Response: EndSession{},
			Summary: "The provider's logout URL for this session (RP-initiated logout), to open after signing out"},
	}
}

func callbackPath(providerID string) string { return "/api/v1/auth/oidc/" + providerID + "/callback" }

func (h *handlers) listEnabled(c echo.Context) error {
	rows, err := h.pool().Query(c.Request().Context(), `SELECT id, button_label FROM oidc_providers WHERE enabled ORDER BY display_name`)
	items, err := app.Collect(rows, err, func(row pgx.Row) (PublicProvider, error) {
		var p PublicProvider
		err := row.Scan(&p.ID, &p.ButtonLabel)
		p.LoginURL = "/api/v1/auth/oidc/" + p.ID + "/start"
		return p, err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.Page[PublicProvider]{Items: items})
}

type nonceKey struct{}

// relyingParty discovers the provider and builds a relying party for it. The ID token's nonce
// is checked against the one in ctx (put there by the callback).
func (h *handlers) relyingParty(ctx context.Context, p *Provider, redirectURI string) (rp.RelyingParty, error) {
	secret, err := h.clientSecret(ctx, h.pool(), p.ID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return rp.NewRelyingPartyOIDC(ctx, p.Issuer, p.ClientID, secret, redirectURI, p.Scopes,
		rp.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string { n, _ := ctx.Value(nonceKey{}).(string); return n })))
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashState(state string) []byte {
	sum := sha256.Sum256([]byte(state))
	return sum[:]
}

// failure is a refused sign-in: a reason for the audit log and a sentence for the person.
type failure struct{ reason, message string }

func (f *failure) Error() string { return f.reason + ": " + f.message }

func fail(reason, message string) error { return &failure{reason, message} }

// refuse audits a refused sign-in and sends the browser to the sign-in page, which shows why.
func (h *handlers) refuse(c echo.Context, p *Provider, username, userID string, detail map[string]any, err error) error {
	var f *failure
	if !errors.As(err, &f) {
		h.m.Log.Error("OpenID Connect sign-in", "err", err)
		f = &failure{"internal_error", "mipo could not finish the sign-in; try again, or sign in with your password"}
	}
	if detail == nil {
		detail = map[string]any{}
	}
	if p != nil {
		detail["provider"], detail["provider_id"] = p.DisplayName, p.ID
	}
	if rerr := auditapi.RecordNow(c.Request().Context(), h.pool(), rbacapi.LoginEntry("oidc", username, userID, auditapi.Failure, f.reason, detail)); rerr != nil {
		return rerr
	}
	return c.Redirect(http.StatusFound, "/login?sso_error="+url.QueryEscape(f.message))
}

func (h *handlers) start(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := getProvider(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	if !p.Enabled {
		return h.refuse(c, p, "", "", nil, fail("provider_disabled", p.DisplayName+" sign-in is switched off"))
	}
	base, err := settingsapi.PublicURL(c.Request().Context(), h.pool(), c)
	if err != nil {
		return err
	}
	redirectURI := base + callbackPath(p.ID)
	party, err := h.relyingParty(ctx, p, redirectURI)
	if err != nil {
		return h.refuse(c, p, "", "", nil, fail("provider_unreachable", p.DisplayName+" cannot be reached ("+err.Error()+"); sign in with your password, or try again later"))
	}
	state, nonce, verifier := random(32), random(32), random(32)
	challenge := sha256.Sum256([]byte(verifier))
	if _, err := h.pool().Exec(ctx, `INSERT INTO oidc_logins (state_hash, provider_id, nonce, code_verifier, redirect_uri, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hashState(state), p.ID, nonce, verifier, redirectURI, h.m.Clock.Now()); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: state, Path: "/api/v1/auth/oidc/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: app.RequestScheme(c) == "https"})
	return c.Redirect(http.StatusFound, rp.AuthURL(state, party,
		rp.WithCodeChallenge(base64.RawURLEncoding.EncodeToString(challenge[:])), rp.AuthURLOpt(rp.WithURLParam("nonce", nonce))))
}

// pending is a sign-in under way, as start stored it.
type pending struct {
	nonce, verifier, redirectURI string
	createdAt                    time.Time
}

// consumeState checks the callback's state against the browser's cookie and takes the
// sign-in it names: each state is good once, for one browser, for loginTTL.
func (h *handlers) consumeState(c echo.Context, providerID string) (*pending, error) {
	ctx := c.Request().Context()
	state := c.QueryParam("state")
	ck, err := c.Cookie(stateCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		return nil, fail("state_mismatch", "this sign-in was not started in this browser; start again from the sign-in page")
	}
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: "", Path: "/api/v1/auth/oidc/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	var pd pending
	err = h.pool().QueryRow(ctx, `DELETE FROM oidc_logins WHERE state_hash = $1 AND provider_id = $2
		RETURNING nonce, code_verifier, redirect_uri, created_at`, hashState(state), providerID).
		Scan(&pd.nonce, &pd.verifier, &pd.redirectURI, &pd.createdAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fail("state_unknown", "this sign-in link was already used or is unknown; start again from the sign-in page")
	}
	if err != nil {
		return nil, err
	}
	if h.m.Clock.Now().Sub(pd.createdAt) > loginTTL {
		return nil, fail("state_expired", "the sign-in took too long; start again from the sign-in page")
	}
	return &pd, nil
}

func (h *handlers) callback(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := getProvider(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	pd, err := h.consumeState(c, p.ID)
	if err != nil {
		return h.refuse(c, p, "", "", nil, err)
	}
	if !p.Enabled {
		return h.refuse(c, p, "", "", nil, fail("provider_disabled", p.DisplayName+" sign-in is switched off"))
	}
	if e := c.QueryParam("error"); e != "" {
		return h.refuse(c, p, "", "", nil, fail("provider_error", p.DisplayName+" refused the sign-in: "+e+" "+c.QueryParam("error_description")))
	}
	claims, idToken, err := h.exchange(ctx, p, pd, c.QueryParam("code"))
	if err != nil {
		return h.refuse(c, p, "", "", nil, err)
	}
	var acct *rbacapi.Account
	var refused error
	detail := map[string]any{}
	err = app.InTx(ctx, h.pool(), func(ctx context.Context, ch *app.Change) error {
		acct, refused, err = h.signIn(c, ctx, ch.Tx, p, claims, detail, idToken)
		return err
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		name, id := str(claims["preferred_username"]), ""
		if acct != nil {
			name, id = acct.Username, acct.ID
		}
		return h.refuse(c, p, name, id, detail, err)
	}
	return c.Redirect(http.StatusFound, "/")
}

// exchange redeems the code (with the PKCE verifier), verifies the ID token (signature,
// issuer, audience, expiry, nonce) and reads userinfo. It returns the claims of both, userinfo
// winning, and the raw ID token.
func (h *handlers) exchange(ctx context.Context, p *Provider, pd *pending, code string) (map[string]any, string, error) {
	party, err := h.relyingParty(ctx, p, pd.redirectURI)
	if err != nil {
		return nil, "", fail("provider_unreachable", p.DisplayName+" cannot be reached ("+err.Error()+"); sign in with your password, or try again later")
	}
	ctx = context.WithValue(ctx, nonceKey{}, pd.nonce)
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, party, rp.WithCodeVerifier(pd.verifier))
	if err != nil {
		return nil, "", tokenFailure(p, err)
	}
	claims := map[string]any{}
	for k, v := range tokens.IDTokenClaims.Claims {
		claims[k] = v
	}
	if party.UserinfoEndpoint() != "" {
		info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, tokens.IDTokenClaims.GetSubject(), party)
		if err != nil {
			return nil, "", fail("userinfo_failed", p.DisplayName+" did not answer the userinfo request ("+err.Error()+")")
		}
		for k, v := range info.Claims {
			claims[k] = v
		}
	}
	claims["sub"] = tokens.IDTokenClaims.GetSubject() // the verified token's subject, whatever userinfo said
	return claims, tokens.IDToken, nil
}

// tokenFailure names why a token was refused, for the audit log.
func tokenFailure(p *Provider, err error) error {
	reason := "token_refused"
	switch {
	case errors.Is(err, oidc.ErrNonceInvalid):
		reason = "nonce_mismatch"
	case errors.Is(err, oidc.ErrExpired):
		reason = "token_expired"
	case errors.Is(err, oidc.ErrSignatureInvalid), errors.Is(err, oidc.ErrSignatureInvalidPayload), errors.Is(err, oidc.ErrParse):
		reason = "id_token_invalid"
	}
	return fail(reason, "the answer from "+p.DisplayName+" was refused ("+err.Error()+"); try again or sign in with your password")
}

func str(v any) string { s, _ := v.(string); return s }

// signIn finds (or links, or creates) the person's account, sets their roles from the
// provider's rules and starts their session. A refusal is returned apart from errors: what was
// done before it stays (a known user whose rules now give no role loses their roles and
// sessions, since the provider has taken their access away), while an error rolls back.
func (h *handlers) signIn(c echo.Context, ctx context.Context, tx pgx.Tx, p *Provider, claims, detail map[string]any, idToken string) (acct *rbacapi.Account, refused, err error) {
	subject := str(claims["sub"])
	detail["subject"] = subject
	roles := mapRoles(claims, p.RoleRules, p.DefaultRoleID)
	noRole := fail("no_role", p.DisplayName+" grants you no mipo role; ask an administrator to map one of your groups to a role")
	acct, err = rbacapi.AccountByIdentity(ctx, tx, p.Issuer, subject)
	if errors.Is(err, rbacapi.ErrNoAccount) {
		if len(roles) == 0 {
			return nil, noRole, nil // nobody is linked or created only to be turned away
		}
		acct, refused, err = h.firstSignIn(ctx, tx, p, claims, detail)
	}
	if err != nil || refused != nil {
		return acct, refused, err
	}
	if acct.Disabled {
		return acct, fail("account_disabled", "your mipo account is disabled; ask an administrator"), nil
	}
	change, err := rbacapi.SetRoles(ctx, tx, acct.ID, roles)
	if err != nil {
		return acct, nil, err
	}
	detail["roles_granted"], detail["roles_removed"] = change.Granted, change.Removed
	if len(roles) == 0 && !acct.Owner {
		n, err := h.signIns.EndAll(app.WithPrincipal(ctx, app.System("oidc.deprovision")), tx, acct.ID, "no_role")
		detail["sessions_ended"] = n
		return acct, noRole, err
	}
	sessionID, err := h.signIns.Start(c, ctx, tx, acct.ID, "oidc")
	if err != nil {
		return acct, nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO oidc_sessions (session_id, provider_id, id_token) VALUES ($1, $2, $3)`, sessionID, p.ID, idToken); err != nil {
		return acct, nil, err
	}
	return acct, nil, auditapi.Record(ctx, tx, rbacapi.LoginEntry("oidc", acct.Username, acct.ID, auditapi.Success, "", detail))
}

// firstSignIn handles an identity mipo has not seen: link it by verified email, or create a
// user, as the provider allows.
func (h *handlers) firstSignIn(ctx context.Context, tx pgx.Tx, p *Provider, claims map[string]any, detail map[string]any) (acct *rbacapi.Account, refused, err error) {
	email, verified := strings.TrimSpace(str(claims["email"])), emailVerified(claims["email_verified"])
	if p.LinkByEmail && email != "" {
		acct, err = rbacapi.AccountByEmail(ctx, tx, email)
		switch {
		case errors.Is(err, rbacapi.ErrNoAccount):
		case err != nil:
			return nil, nil, err
		case !verified:
			return acct, fail("email_unverified", p.DisplayName+" does not vouch that "+email+" is yours (email not verified), so it is not linked to the mipo account with that address"), nil
		case acct.Owner:
			return acct, fail("owner_not_linked", "the owner account signs in with its password only"), nil
		case acct.Linked:
			return acct, fail("account_linked_elsewhere", "the mipo account with this email address is linked to another sign-in identity"), nil
		default:
			detail["linked_by_email"] = true
			return acct, nil, rbacapi.LinkIdentity(ctx, tx, acct.ID, p.Issuer, str(claims["sub"]))
		}
	}
	if !p.CreateUsers {
		return nil, fail("no_account", "no mipo account belongs to you yet; ask an administrator to create one"), nil
	}
	if !verified {
		email = ""
	}
	detail["created"] = true
	acct, err = rbacapi.CreateFromIdentity(ctx, tx, rbacapi.Identity{Issuer: p.Issuer, Subject: str(claims["sub"]),
		Username: str(claims["preferred_username"]), DisplayName: str(claims["name"]), Email: email}, h.m.Clock.Now())
	return acct, nil, err
}

func (h *handlers) endSession(c echo.Context) error {
	ctx := c.Request().Context()
	var providerID, idToken string
	err := h.pool().QueryRow(ctx, `SELECT provider_id, id_token FROM oidc_sessions WHERE session_id = $1`, app.PrincipalFrom(ctx).SessionID).
		Scan(&providerID, &idToken)
	if errors.Is(err, pgx.ErrNoRows) || app.PrincipalFrom(ctx).SessionID == "" {
		return c.JSON(http.StatusOK, EndSession{})
	}
	if err != nil {
		return err
	}
	p, err := getProvider(ctx, h.pool(), providerID)
	if err != nil {
		return err
	}
	base, err := settingsapi.PublicURL(c.Request().Context(), h.pool(), c)
	if err != nil {
		return err
	}
	party, err := h.relyingParty(ctx, p, base+callbackPath(p.ID))
	if err != nil || party.GetEndSessionEndpoint() == "" {
		return c.JSON(http.StatusOK, EndSession{}) // the provider is away or offers no logout: mipo's own sign-out still happens
	}
	q := url.Values{"id_token_hint": {idToken}, "client_id": {p.ClientID}, "post_logout_redirect_uri": {base + "/login"}}
	return c.JSON(http.StatusOK, EndSession{URL: party.GetEndSessionEndpoint() + "?" + q.Encode()})
}
