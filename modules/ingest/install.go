package ingest

import (
	"errors"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/scanners"
	"mipo/modules/settings/settingsapi"
)

// The installer and the binary it downloads, served without credentials: a provisioning
// command fetches both from this mipo, and the binary holds no secret.

func (h *handlers) installRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: scanners.InstallScriptPath, Scope: app.Public, Handler: h.installScript, Produces: "text/x-shellscript",
			Summary: "The mipo-scanner installer: downloads the binary from this mipo, checks its SHA-256, registers it and installs the systemd service (--no-systemd: install and register only)"},
		{Method: get, Path: scanners.BinaryPath, Scope: app.Public, Handler: h.binary, Produces: "application/octet-stream",
			Summary: "The mipo-scanner binary this mipo hands out (its SHA-256 in the X-Checksum-Sha256 header)"},
		{Method: get, Path: scanners.BinaryPath + ".sha256", Scope: app.Public, Handler: h.binarySum, Produces: "text/plain",
			Summary: "The SHA-256 of the mipo-scanner binary, in sha256sum's format"},
	}
}

func (h *handlers) binaryOr503() (*scanners.Binary, error) {
	bin, err := scanners.ScannerBinary(h.m.Config)
	var missing *scanners.ErrNoBinary
	if errors.As(err, &missing) {
		h.m.Log.Error("a scanner binary was asked for, but there is none", "err", err)
		return nil, &app.Error{Status: http.StatusServiceUnavailable, Code: "scanner_binary_missing", Message: missing.Error()}
	}
	return bin, err
}

func (h *handlers) installScript(c echo.Context) error {
	ctx := c.Request().Context()
	server, err := settingsapi.PublicURL(ctx, h.m.ConfigDB, c)
	if err != nil {
		return err
	}
	pin, err := scanners.ProvisioningPin(h.m.Config)
	if err != nil {
		return err
	}
	bin, err := scanners.ScannerBinary(h.m.Config)
	var missing *scanners.ErrNoBinary
	if err != nil && !errors.As(err, &missing) {
		return err
	}
	// With no binary the script still comes, and says why it cannot install: piped into sh,
	// a script is read where an HTTP error would be lost.
	script, err := scanners.InstallScript(server, pin, bin, err)
	if err != nil {
		return &app.Error{Status: http.StatusConflict, Code: "server_url", Message: "cannot write the installer: " + err.Error() + "; set the public FQDN under Settings"}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/x-shellscript; charset=utf-8", script)
}

func (h *handlers) binary(c echo.Context) error {
	bin, err := h.binaryOr503()
	if err != nil {
		return err
	}
	f, err := os.Open(bin.Path)
	if err != nil {
		return &app.Error{Status: http.StatusServiceUnavailable, Code: "scanner_binary_missing", Message: (&scanners.ErrNoBinary{Where: bin.Path, Why: "cannot be read"}).Error()}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hd := c.Response().Header()
	hd.Set("X-Checksum-Sha256", bin.SHA256)
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", `attachment; filename="mipo-scanner"`)
	http.ServeContent(c.Response(), c.Request(), "mipo-scanner", st.ModTime(), f)
	return nil
}

func (h *handlers) binarySum(c echo.Context) error {
	bin, err := h.binaryOr503()
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, bin.SHA256+"  mipo-scanner\n")
}
