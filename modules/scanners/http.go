package scanners

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit"
	"mipo/modules/jobs"
	"mipo/modules/settings"
)

type handlers struct {
	m   *app.Mount
	asn *ASNDatabase
}

func (h *handlers) pool() *pgxpool.Pool { return h.m.DB.Config }

func (h *handlers) routes() []app.Route {
	get, post, patch, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []app.Route{
		{Method: get, Path: "/api/v1/scanners", Scope: "scanners:view", Handler: h.list, Query: ListQuery{}, Response: app.Page[*Scanner]{},
			Summary: "List scanners with their status, last heartbeat, version, metrics and active jobs"},
		{Method: get, Path: "/api/v1/scanners/health", Scope: "scanners:view", Handler: h.health, Query: HealthQuery{}, Response: FleetHealth{},
			Summary: "Fleet health: every scanner's status, last heartbeat, jobs, and CPU, memory and network I/O over time"},
		{Method: get, Path: "/api/v1/scanners/firewall", Scope: "scanners:manage", Handler: h.firewall, Query: FirewallQuery{}, Produces: "text/plain",
			Summary: "Firewall allowlist of every enabled scanner's bound addresses: iptables commands, nginx allow/deny, or Cloudflare IP Access Rules JSON",
			Description: "format=iptables gives a shell script filling the chain MIPO-SCANNERS (iptables and ip6tables); nginx gives allow lines ending in deny all; " +
				"cloudflare gives {rules: [...], skipped: [...]}, each rule the body of one Cloudflare IP Access Rules API call. Add download=true for a file download."},
		{Method: get, Path: "/api/v1/scanners/install", Scope: "scanners:view", Handler: h.installInfo, Response: InstallInfo{},
			Summary: "What a provisioning command would use: this mipo's URL, certificate pin, and the mipo-scanner binary it hands out"},
		{Method: get, Path: "/api/v1/scanners/tokens", Scope: "scanners:manage", Handler: h.listTokens, Query: TokenQuery{}, Response: app.Page[*ProvisioningToken]{},
			Sensitive: true, Summary: "Provisioning tokens, never their secrets (an audited read)"},
		{Method: post, Path: "/api/v1/scanners/tokens", Scope: "scanners:manage", Handler: h.createToken, Request: CreateToken{}, Response: NewProvisioningToken{},
			Status: http.StatusCreated, Summary: "Create a single-use, short-lived provisioning token and the command that installs a scanner with it (shown once)"},
		{Method: del, Path: "/api/v1/scanners/tokens/:id", Scope: "scanners:manage", Handler: h.revokeToken, Status: http.StatusNoContent,
			Summary: "Revoke an unused provisioning token"},
		{Method: get, Path: "/api/v1/scanners/:id", Scope: "scanners:view", Handler: h.get, Response: Scanner{},
			Summary: "One scanner"},
		{Method: patch, Path: "/api/v1/scanners/:id", Scope: "scanners:manage", Handler: h.update, Request: Update{}, Response: Scanner{},
			Summary: "Rename a scanner, change its binding or its groups; absent fields are left as they are"},
		{Method: post, Path: "/api/v1/scanners/:id/disable", Scope: "scanners:manage", Handler: h.disable, Response: Scanner{},
			Summary: "Disable a scanner: it keeps everything, but its requests are refused and it gets no jobs"},
		{Method: post, Path: "/api/v1/scanners/:id/enable", Scope: "scanners:manage", Handler: h.enable, Response: Scanner{},
			Summary: "Enable a disabled scanner again"},
		{Method: post, Path: "/api/v1/scanners/:id/rotate-key", Scope: "scanners:manage", Handler: h.rotateKey, Response: NewKey{},
			Summary: "Give a scanner a new API key: the old one stops working at once; the new one is shown once"},
		{Method: get, Path: "/api/v1/scanners/:id/key", Scope: "scanners:manage", Handler: h.key, Response: KeyInfo{}, Sensitive: true,
			Summary: "A scanner's key: its prefix and age, never the secret (an audited read)"},
		{Method: get, Path: "/api/v1/scanners/:id/metrics", Scope: "scanners:view", Handler: h.metrics, Query: MetricsQuery{}, Response: MetricsSeries{},
			Summary: "A scanner's CPU, memory, network I/O and jobs over time, from its heartbeats"},
		{Method: get, Path: "/api/v1/scanners/:id/connections", Scope: "scanners:view", Handler: h.connections, Query: app.ListQuery{}, Response: app.Page[Connection]{},
			Summary: "A scanner's connection history: registered, online, offline, disabled, enabled"},

		{Method: get, Path: "/api/v1/scanner-groups", Scope: "scanners:view", Handler: h.listGroups, Query: GroupQuery{}, Response: app.Page[*Group]{},
			Summary: "List scanner groups"},
		{Method: post, Path: "/api/v1/scanner-groups", Scope: "scanners:manage", Handler: h.createGroup, Request: GroupInput{}, Response: Group{},
			Status: http.StatusCreated, Summary: "Create a scanner group for a network location"},
		{Method: get, Path: "/api/v1/scanner-groups/:id", Scope: "scanners:view", Handler: h.getGroup, Response: Group{},
			Summary: "One scanner group"},
		{Method: patch, Path: "/api/v1/scanner-groups/:id", Scope: "scanners:manage", Handler: h.updateGroup, Request: GroupUpdate{}, Response: Group{},
			Summary: "Change a scanner group or its members; absent fields are left as they are"},
		{Method: del, Path: "/api/v1/scanner-groups/:id", Scope: "scanners:manage", Handler: h.deleteGroup, Status: http.StatusNoContent,
			Summary: "Delete a scanner group (its scanners stay)"},
	}
}

// withActiveJobs fills each scanner's active jobs from the jobs database, in one query.
func (h *handlers) withActiveJobs(ctx context.Context, ss ...*Scanner) error {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	active, err := jobs.ActiveByScanner(ctx, h.m.DB.Jobs, ids)
	if err != nil {
		return err
	}
	for _, s := range ss {
		s.ActiveJobs = active[s.ID]
	}
	return nil
}

func (h *handlers) list(c echo.Context) error {
	l, err := app.ParseList(c, scannerSorts...)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := list(ctx, h.pool(), l, ListQuery{Status: c.QueryParam("status"), Group: c.QueryParam("group"), Q: c.QueryParam("q")})
	if err != nil {
		return err
	}
	if err := h.withActiveJobs(ctx, page.Items...); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) get(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.withActiveJobs(ctx, s); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) update(c echo.Context) error {
	var in Update
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := update(ctx, tx, c.Param("id"), in, h.asn, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner.update", ResourceType: "scanner", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) setDisabled(c echo.Context, disabled bool) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := setDisabled(ctx, tx, c.Param("id"), disabled, h.m.Clock.Now())
	if err != nil {
		return err
	}
	action, event := "scanner.enable", "scanner.enabled"
	if disabled {
		action, event = "scanner.disable", "scanner.disabled"
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: action, ResourceType: "scanner", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	if before.Disabled != after.Disabled {
		app.ChangeFrom(ctx).AfterCommit(func(ctx context.Context) {
			if err := h.m.Events.Emit(ctx, event, after.ID, StatusEvent{ScannerID: after.ID, Name: after.Name, LastSeenAt: after.LastSeenAt}); err != nil {
				h.m.Log.Warn("event not emitted", "event", event, "scanner", after.ID, "err", err)
			}
		})
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) disable(c echo.Context) error { return h.setDisabled(c, true) }
func (h *handlers) enable(c echo.Context) error  { return h.setDisabled(c, false) }

func (h *handlers) rotateKey(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, out, err := rotateKey(ctx, tx, c.Param("id"), h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner.rotate_key", ResourceType: "scanner", ResourceID: out.Scanner.ID,
		Before: before, After: out.Scanner, Detail: map[string]any{"old_key": before.KeyPrefix, "new_key": out.Scanner.KeyPrefix, "shown_once": true}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) key(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := audit.RecordNow(ctx, h.pool(), audit.Entry{Action: "scanner.key.read", ResourceType: "scanner", ResourceID: s.ID,
		Detail: map[string]any{"key": s.KeyPrefix}}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, KeyInfo{ScannerID: s.ID, Prefix: s.KeyPrefix, CreatedAt: s.KeyCreatedAt})
}

func (h *handlers) metrics(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	from, to, points, err := parseWindow(c, h.m.Clock.Now())
	if err != nil {
		return err
	}
	out, err := series(ctx, h.pool(), s.ID, from, to, points)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// parseWindow reads from, to and points: a window of at most a year, 24 hours by default.
func parseWindow(c echo.Context, now time.Time) (from, to time.Time, points int, err error) {
	to, points = now, 240
	if v := c.QueryParam("to"); v != "" {
		if to, err = app.ParseTime("to", v); err != nil {
			return from, to, 0, err
		}
	}
	from = to.Add(-24 * time.Hour)
	if v := c.QueryParam("from"); v != "" {
		if from, err = app.ParseTime("from", v); err != nil {
			return from, to, 0, err
		}
	}
	if !from.Before(to) || to.Sub(from) > 366*24*time.Hour {
		return from, to, 0, app.Invalid("from", "invalid_window", "from must be before to, and at most a year before it")
	}
	if v := c.QueryParam("points"); v != "" {
		if points, err = strconv.Atoi(v); err != nil || points < 10 || points > 1000 {
			return from, to, 0, app.Invalid("points", "invalid_points", "points must be a whole number from 10 to 1000")
		}
	}
	return from, to, points, nil
}

func (h *handlers) connections(c echo.Context) error {
	l, err := app.ParseList(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s, err := Get(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	page, err := connections(ctx, h.pool(), s.ID, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
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
	if err := audit.RecordNow(ctx, h.pool(), audit.Entry{Action: "scanner.firewall_export", ResourceType: "scanner",
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

// InstallInfo is what a provisioning command would use.
type InstallInfo struct {
	Server      string  `json:"server" doc:"The URL scanners reach mipo at: https:// and the public FQDN setting, or this request's host."`
	Pin         string  `json:"pin" doc:"The certificate pin the command carries when the certificate is self-signed; empty: scanners trust the system roots."`
	Binary      *Binary `json:"binary" doc:"The mipo-scanner handed out; null when there is none."`
	BinaryError string  `json:"binary_error" doc:"Why there is no binary to hand out."`
}

// ServerURL is the URL scanners should use: https:// and the public FQDN setting, else the
// scheme and host this request came with.
func ServerURL(ctx context.Context, db settings.Querier, c echo.Context) (string, error) {
	s, err := settings.Load(ctx, db)
	if err != nil {
		return "", err
	}
	if s.PublicFQDN != "" {
		return "https://" + s.PublicFQDN, nil
	}
	return c.Scheme() + "://" + c.Request().Host, nil
}

func (h *handlers) install(ctx context.Context, db settings.Querier, c echo.Context) (*InstallInfo, error) {
	server, err := ServerURL(ctx, db, c)
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
	if err := audit.RecordNow(ctx, h.pool(), audit.Entry{Action: "scanner_token.list", ResourceType: "scanner_token"}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) createToken(c echo.Context) error {
	var in CreateToken
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	info, err := h.install(ctx, tx, c)
	if err != nil {
		return err
	}
	p := app.PrincipalFrom(ctx)
	t, secret, err := createToken(ctx, tx, in, h.asn, p.Name, h.m.Clock.Now())
	if err != nil {
		return err
	}
	out := NewProvisioningToken{Token: *t, Secret: secret, Server: info.Server, Pin: info.Pin, BinaryError: info.BinaryError}
	if info.Binary != nil {
		out.SHA256 = info.Binary.SHA256
	}
	if out.Command, err = InstallCommand(info.Server, info.Pin, out.SHA256, secret); err != nil {
		return app.Conflict("server_url", "cannot write the install command: "+err.Error()+"; set the public FQDN under Settings")
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner_token.create", ResourceType: "scanner_token", ResourceID: t.ID, After: t,
		Detail: map[string]any{"shown_once": true, "server": info.Server}}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

func (h *handlers) revokeToken(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := revokeToken(ctx, tx, c.Param("id"), h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner_token.revoke", ResourceType: "scanner_token", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) listGroups(c echo.Context) error {
	l, err := app.ParseList(c, "name", "location", "created_at")
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	if len(q) > 128 {
		return app.Invalid("q", "too_long", "q is at most 128 characters")
	}
	page, err := listGroups(c.Request().Context(), h.pool(), l, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getGroup(c echo.Context) error {
	g, err := GetGroup(c.Request().Context(), h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (h *handlers) createGroup(c echo.Context) error {
	var in GroupInput
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	g, err := createGroup(ctx, tx, in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner_group.create", ResourceType: "scanner_group", ResourceID: g.ID, After: g}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, g)
}

func (h *handlers) updateGroup(c echo.Context) error {
	var in GroupUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, after, err := updateGroup(ctx, tx, c.Param("id"), in, h.m.Clock.Now())
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner_group.update", ResourceType: "scanner_group", ResourceID: after.ID, Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h *handlers) deleteGroup(c echo.Context) error {
	ctx, tx := c.Request().Context(), app.Tx(c)
	g, err := deleteGroup(ctx, tx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "scanner_group.delete", ResourceType: "scanner_group", ResourceID: g.ID, Before: g}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
