package tls

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/settings"
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
	}
}

// Overview is the TLS page.
type Overview struct {
	Active       *Info  `json:"active" doc:"The certificate served now."`
	Certificates []Info `json:"certificates" doc:"The latest certificates, newest first, the active one included."`
	PublicFQDN   string `json:"public_fqdn" doc:"The public FQDN setting; empty: the request's host is used."`
	HSTS         bool   `json:"hsts" doc:"Whether Strict-Transport-Security is sent: only while a trusted (not self-signed) certificate is served."`
}

// Upload is a PEM chain (server certificate first, then each issuer) and its private key.
type Upload struct {
	Certificate string `json:"certificate" doc:"PEM certificate chain: the server certificate first, then each intermediate."`
	Key         string `json:"key" doc:"PEM private key (PKCS#8, PKCS#1 or EC), unencrypted."`
}

func (h handlers) overview(c echo.Context) error {
	ctx, db := c.Request().Context(), h.s.m.DB.Config
	rows, err := recentRows(ctx, db, 20)
	if err != nil {
		return err
	}
	set, err := settings.Load(ctx, db)
	if err != nil {
		return err
	}
	out := Overview{Certificates: []Info{}, PublicFQDN: set.PublicFQDN, HSTS: h.s.m.Config.TLS && h.s.live.Trusted()}
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
