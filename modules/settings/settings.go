package settings

import (
	"context"
	"encoding/json"

	"regexp"
	"strings"
	"time"

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

const keyPublicFQDN = "public_fqdn"

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

// Load reads every setting.
func Load(ctx context.Context, db app.Querier) (Settings, error) {
	rows, err := db.Query(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return s, err
		}
		if key == keyPublicFQDN {
			json.Unmarshal(raw, &s.PublicFQDN)
		}
	}
	return s, rows.Err()
}

// Apply validates and writes a patch in tx, returning the settings before and after (for the
// audit record, which the caller writes).
func Apply(ctx context.Context, tx pgx.Tx, p Patch) (before, after Settings, err error) {
	if before, err = Load(ctx, tx); err != nil {
		return
	}
	after = before
	if p.PublicFQDN != nil {
		v := strings.TrimSpace(*p.PublicFQDN)
		if err = ValidateFQDN(v); err != nil {
			return
		}
		if err = put(ctx, tx, keyPublicFQDN, v); err != nil {
			return
		}
		after.PublicFQDN = v
	}
	return
}

func put(ctx context.Context, tx pgx.Tx, key string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`, key, raw, time.Now().UTC())
	return err
}

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
