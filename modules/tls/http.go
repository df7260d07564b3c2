package tls

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/settings/settingsapi"
)

type handlers struct{ s *Service }

func (h handlers) routes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/tls", Scope: "settings:view", Handler: h.overview, Response: Overview{},
			Summary: "The certificate mipo serves, the ones before it, and the public FQDN it should cover"},
		{Method: http.MethodPost, Path: "/api/v1/tls/certificate", Scope: "settings:write", Handler: h.upload, Request: Upload{}, Response: Info{},
			Status: http.StatusCreated, Summary: "Serve an uploaded PEM certificate chain and key, after checking them",
			Description: "Checks, in order: PEM, key type and size, key matches the first certificate, chain order, validity dates, chain reaches a trusted root, names cover the public FQDN. Each failure has its own error code."},
		{Method: http.MethodPost, Path: "/api/v1/tls/self-signed", Scope: "settings:write", Handler: h.selfSign, Response: Info{},
			Status: http.StatusCreated, Summary: "Serve a new self-signed certificate for the public FQDN (on the previous self-signed key, so scanner pins stay valid)"},
		{Method: http.MethodPut, Path: "/api/v1/tls/acme", Scope: "settings:write", Handler: h.putACME, Request: ACMEInput{}, Response: ACME{},
			Summary: "Configure ACME issuance and renewal; credentials are stored sealed"},
		{Method: http.MethodGet, Path: "/api/v1/tls/acme/credentials", Scope: "settings:write", Handler: h.credentials, Response: map[string]string{},
			Sensitive: true, Summary: "The DNS provider credentials, decrypted (an audited read)"},
		{Method: http.MethodPost, Path: "/api/v1/tls/acme/issue", Scope: "settings:write", Handler: h.issue, Response: Attempt{}, Tx: app.TxOwn,
			Summary: "Run an issuance attempt now; the attempt is recorded whether it succeeds or fails"},
		{Method: http.MethodGet, Path: "/api/v1/tls/stale-pins", Scope: "scanners:view", Handler: h.stalePins, Response: StalePins{},
			Summary: "Scanners that hold the pin of a self-signed certificate no longer served"},
		{Method: http.MethodGet, Path: "/.well-known/acme-challenge/:token", Scope: app.Public, Handler: h.http01, Produces: "text/plain",
			Summary: "The ACME HTTP-01 challenge answer for a pending issuance"},
	}
}

// Overview is the TLS page.
type Overview struct {
	Active       *Info     `json:"active" doc:"The certificate served now."`
	Certificates []Info    `json:"certificates" doc:"The latest certificates, newest first, the active one included."`
	PublicFQDN   string    `json:"public_fqdn" doc:"The public FQDN setting; empty: the request's host is used."`
	HSTS         bool      `json:"hsts" doc:"Whether Strict-Transport-Security is sent: only while a trusted (not self-signed) certificate is served."`
	ACME         *ACME     `json:"acme" doc:"The ACME configuration; null until configured."`
	Attempts     []Attempt `json:"attempts" doc:"The latest ACME attempts, newest first."`
}

// Upload is a PEM chain (server certificate first, then each issuer) and its private key.
type Upload struct {
	// A chain of a few RSA-4096 certificates runs to about 10 kB; neither field is indexed.
	Certificate string `json:"certificate" maxlen:"65536" doc:"PEM certificate chain: the server certificate first, then each intermediate."`
	Key         string `json:"key" maxlen:"16384" doc:"PEM private key (PKCS#8, PKCS#1 or EC), unencrypted."`
}

func (h handlers) overview(c echo.Context) error {
	ctx, db := c.Request().Context(), h.s.m.ConfigDB
	rows, err := recentRows(ctx, db, 20)
	if err != nil {
		return err
	}
	set, err := settingsapi.Load(ctx, db)
	if err != nil {
		return err
	}
	out := Overview{Certificates: []Info{}, PublicFQDN: set.PublicFQDN, HSTS: h.s.m.Config.TLS && h.s.live.Trusted()}
	if cfg, err := loadACME(ctx, db); err != nil {
		return err
	} else if cfg != nil {
		out.ACME = &cfg.ACME
	}
	if out.Attempts, err = recentAttempts(ctx, db, 20); err != nil {
		return err
	}
	for _, r := range rows {
		in, err := h.s.describe(r)
		if err != nil {
			return err
		}
		if r.Active {
			out.Active = &in
		}
		out.Certificates = append(out.Certificates, in)
	}
	return c.JSON(http.StatusOK, out)
}

func (h handlers) upload(c echo.Context) error {
	var in Upload
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	info, err := h.s.Upload(ctx, app.ChangeFrom(ctx), in.Certificate, in.Key)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}

func (h handlers) selfSign(c echo.Context) error {
	ctx := c.Request().Context()
	info, err := h.s.SelfSign(ctx, app.ChangeFrom(ctx), "tls.certificate.self_signed")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}

func (h handlers) putACME(c echo.Context) error {
	var in ACMEInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	out, err := h.s.ConfigureACME(ctx, app.ChangeFrom(ctx), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h handlers) credentials(c echo.Context) error {
	ctx, db := c.Request().Context(), h.s.m.ConfigDB
	cfg, err := loadACME(ctx, db)
	if err != nil {
		return err
	}
	if cfg == nil || cfg.credSealed == "" {
		return app.NotFound("stored DNS provider credentials")
	}
	creds, err := h.s.acme.credentials(cfg)
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, db, auditapi.Entry{Action: "tls.acme.credentials.read", ResourceType: "tls_acme",
		Detail: map[string]any{"dns_provider": cfg.DNSProvider}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, creds)
}

func (h handlers) issue(c echo.Context) error {
	ctx, db := c.Request().Context(), h.s.m.ConfigDB
	if err := auditapi.RecordNow(ctx, db, auditapi.Entry{Action: "tls.acme.issue", ResourceType: "tls_acme"}); err != nil {
		return err
	}
	at, err := h.s.acme.Obtain(ctx)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, at)
}

func (h handlers) http01(c echo.Context) error {
	v, ok := h.s.acme.tokens.Load(c.Param("token"))
	if !ok {
		return app.NotFound("ACME challenge token")
	}
	return c.String(http.StatusOK, v.(string))
}

func (h handlers) stalePins(c echo.Context) error {
	out, err := h.s.stalePins(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
