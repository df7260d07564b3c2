package rbac

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Sign-in throttling that cannot be turned against the user it protects. Failures are
// counted per account *at one source address*: a few cost nothing, then each further failure
// there doubles the wait before the next attempt. A stranger guessing a password slows only
// themselves, so nobody — the owner included — is locked out from an address of their own by
// other people's failures. Each address also has a ceiling across all accounts, so one
// address spraying many usernames is stopped. Both are checked before the password, so a
// throttled attempt costs no hashing.
var (
	throttleWindow = 15 * time.Minute // failures older than this are forgotten
	freeFailures   = 3                // per account and address, before any delay
	maxDelay       = 15 * time.Minute
	addressLimit   = 20 // failures per address within the window, over all accounts
	addressLockout = 15 * time.Minute
)

func throttleKeys(username, ip string) (accountAtAddress, address string) {
	return "user:" + strings.ToLower(username) + "|ip:" + ip, "ip:" + ip
}

// accountDelay is how long an account waits at an address after its nth failure there.
func accountDelay(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	if shift := n - freeFailures; shift < 20 && time.Second<<shift < maxDelay {
		return time.Second << shift
	}
	return maxDelay
}

// addressDelay locks an address once it reaches the limit.
func addressDelay(n int) time.Duration {
	if n >= addressLimit {
		return addressLockout
	}
	return 0
}

// lockedUntil returns when the later of the two waits ends, or the zero time.
func lockedUntil(ctx context.Context, db app.Querier, now time.Time, keys ...string) (time.Time, error) {
	var until *time.Time
	err := db.QueryRow(ctx, `SELECT max(locked_until) FROM login_throttle WHERE key = ANY($1) AND locked_until > $2`, keys, now).Scan(&until)
	if err != nil || until == nil {
		return time.Time{}, err
	}
	return *until, nil
}

// recordFailure counts a failed attempt against a key and sets the wait its count earns.
func recordFailure(ctx context.Context, tx pgx.Tx, now time.Time, key string, delay func(failures int) time.Duration) error {
	var failures int
	err := tx.QueryRow(ctx, `
		INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END,
			window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END
		RETURNING failures`,
		key, now, now.Add(-throttleWindow)).Scan(&failures)
	if err != nil {
		return err
	}
	if d := delay(failures); d > 0 {
		_, err = tx.Exec(ctx, `UPDATE login_throttle SET locked_until = $2 WHERE key = $1`, key, now.Add(d))
	}
	return err
}

func clearFailures(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
	return err
}
