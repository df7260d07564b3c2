package settings

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/settings/settingsapi"
)

const keyPublicFQDN = "public_fqdn"

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
		if err = settingsapi.ValidateFQDN(v); err != nil {
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
