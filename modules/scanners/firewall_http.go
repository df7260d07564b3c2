package scanners

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) firewallRoutes() []app.Route {
	get := http.MethodGet
	return []app.Route{
		{Method: get, Path: "/api/v1/scanners/firewall", Scope: "scanners:manage", Handler: h.firewall, Query: FirewallQuery{}, Produces: "text/plain",
			Summary: "Firewall allowlist of every enabled scanner's bound addresses: iptables commands, nginx allow/deny, or Cloudflare IP Access Rules JSON",
			Description: "format=iptables gives a shell script filling the chain MIPO-SCANNERS (iptables and ip6tables); nginx gives allow lines ending in deny all; " +
				"cloudflare gives {rules: [...], skipped: [...]}, each rule the body of one Cloudflare IP Access Rules API call. Add download=true for a file download."},
	}
}

func (h *handlers) firewall(c echo.Context) error {
	format, err := ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	download := c.QueryParam("download")
	if download != "" && download != "true" && download != "false" {
		return app.Invalid("download", "invalid_download", "download must be true or false")
	}
	ctx := c.Request().Context()
	body, ctype, err := Export(ctx, h.pool(), h.asn, format, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.pool(), auditapi.Entry{Action: "scanner.firewall_export", ResourceType: "scanner",
		Detail: map[string]any{"format": format}}); err != nil {
		return err
	}
	if download == "true" {
		name := map[string]string{FormatIPTables: "mipo-scanners-iptables.sh", FormatNginx: "mipo-scanners-nginx.conf", FormatCloudflare: "mipo-scanners-cloudflare.json"}[format]
		c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ctype, body)
}
