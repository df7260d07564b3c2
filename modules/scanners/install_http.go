package scanners

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/settings/settingsapi"
)

func (h *handlers) installRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: "/api/v1/scanners/install", Scope: "scanners:view", Handler: h.installInfo, Response: InstallInfo{},
			Summary: "What a provisioning command would use: this mipo's URL, certificate pin, and the mipo-scanner binary it hands out"},
	}
}

// InstallInfo is what a provisioning command would use.
type InstallInfo struct {
	Server      string  `json:"server" doc:"The URL scanners reach mipo at: https:// and the public FQDN setting, or this request's host."`
	Pin         string  `json:"pin" doc:"The certificate pin the command carries when the certificate is self-signed; empty: scanners trust the system roots."`
	Binary      *Binary `json:"binary" doc:"The mipo-scanner handed out; null when there is none."`
	BinaryError string  `json:"binary_error" doc:"Why there is no binary to hand out."`
}

func (h *handlers) install(ctx context.Context, db app.Querier, c echo.Context) (*InstallInfo, error) {
	server, err := settingsapi.PublicURL(ctx, db, c)
	if err != nil {
		return nil, err
	}
	pin, err := ProvisioningPin(h.m.Config)
	if err != nil {
		return nil, err
	}
	info := &InstallInfo{Server: server, Pin: pin}
	bin, err := ScannerBinary(h.m.Config)
	var missing *ErrNoBinary
	switch {
	case errors.As(err, &missing):
		info.BinaryError = missing.Error()
	case err != nil:
		return nil, err
	default:
		info.Binary = bin
	}
	return info, nil
}

func (h *handlers) installInfo(c echo.Context) error {
	info, err := h.install(c.Request().Context(), h.pool(), c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}
