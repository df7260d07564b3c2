package rbac

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sign-in throttling: too many failures for one account, or from one address, within the
// window lock further attempts for the lockout time. Both are checked before the password,
// so a locked attempt costs no hashing.
var (
	throttleWindow  = 15 * time.Minute
	throttleLockout = 15 * time.Minute
	accountLimit    = 5
	addressLimit    = 20
)

func throttleKeys(username, ip string) (account, address string) {
	return "user:" + strings.ToLower(username), "ip:" + ip
}

// lockedUntil returns when the later of the two locks ends, or the zero time.
func lockedUntil(ctx context.Context, db querier, now time.Time, keys ...string) (time.Time, error) {
	var until *time.Time
	err := db.QueryRow(ctx, `SELECT max(locked_until) FROM login_throttle WHERE key = ANY($1) AND locked_until > $2`, keys, now).Scan(&until)
	if err != nil || until == nil {
		return time.Time{}, err
	}
	return *until, nil
}

// recordFailure counts a failed attempt against a key and locks it when the limit is reached.
func recordFailure(ctx context.Context, tx pgx.Tx, now time.Time, key string, limit int) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END,
			window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END`,
		key, now, now.Add(-throttleWindow))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE login_throttle SET locked_until = $3 WHERE key = $1 AND failures >= $2`, key, limit, now.Add(throttleLockout))
	return err
}

func clearFailures(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
	return err
}
