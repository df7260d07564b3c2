// Package settingsapi is the settings module's contract with the other modules: the settings'
// types and the calls they may make. It holds no SQL: the settings module fills in the calls
// from its init() (main.go links every module in), so a module that reads the settings does
// not build the settings module's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode).
package settingsapi

import (
	"context"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
)

// Settings is every run-time setting, as the API shows it.
type Settings struct {
	// PublicFQDN is the host name (and optional port) scanners and browsers reach mipo at.
	// Empty: the host of the incoming request is used.
	PublicFQDN string `json:"public_fqdn" doc:"Host name and optional port mipo is reached at, such as mipo.example.com or mipo.example.com:8443. Empty: the request's host."`
}

// Patch is a partial update; absent fields are left as they are.
type Patch struct {
	PublicFQDN *string `json:"public_fqdn,omitempty"`
}

var fqdnPattern = regexp.MustCompile(`^(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$`)

// ValidateFQDN checks a public FQDN: a host name or address, optionally with a port, no scheme
// or path.
func ValidateFQDN(v string) error {
	if v == "" {
		return nil
	}
	if strings.Contains(v, "://") || strings.Contains(v, "/") {
		return app.Invalid("public_fqdn", "invalid_fqdn", "give the host name only, such as mipo.example.com, without https:// or a path")
	}
	if len(v) > 253 || !fqdnPattern.MatchString(v) {
		return app.Invalid("public_fqdn", "invalid_fqdn", "not a valid host name: use letters, digits, hyphens and dots, optionally :port")
	}
	return nil
}

// The calls the settings module answers, filled in by its init().
var (
	// Load reads every setting.
	Load func(ctx context.Context, db app.Querier) (Settings, error)
	// Apply validates and writes a patch in tx, returning the settings before and after (for
	// the audit record, which the caller writes).
	Apply func(ctx context.Context, tx pgx.Tx, p Patch) (before, after Settings, err error)
)

// PublicURL is where browsers and scanners reach mipo: https:// and the public FQDN when it is
// set, else the scheme and host this request was addressed to (app.RequestBase: a trusted
// proxy's forwarded host, or the connection's own). Install commands and OIDC callback URLs
// both take it from here.
func PublicURL(ctx context.Context, db app.Querier, c echo.Context) (string, error) {
	s, err := Load(ctx, db)
	if err != nil {
		return "", err
	}
	if s.PublicFQDN != "" {
		return "https://" + s.PublicFQDN, nil
	}
	return app.RequestBase(c), nil
}
