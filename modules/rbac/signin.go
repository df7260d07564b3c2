package rbac

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/rbac/rbacapi"
)

// signIns is rbac's answer to rbacapi.SignIns: a provider's sign-ins begin and end the same
// sessions as a password sign-in, built from the same configuration as rbac's own.
type signIns struct{ s *sessions }

// NewSignIns returns the sign-in service for a module mounted beside rbac.
func NewSignIns(m *app.Mount) rbacapi.SignIns {
	return &signIns{s: &sessions{key: m.Config.SessionKey, idle: settingSessionIdle.Get(m.Config), max: settingSessionMax.Get(m.Config),
		limit: settingSessionCap.Get(m.Config), clock: m.Clock, secure: m.Config.TLS}}
}

func (si *signIns) Start(c echo.Context, ctx context.Context, tx pgx.Tx, userID, method string) (string, error) {
	sess, err := si.s.begin(c, ctx, tx, userID, method)
	if err != nil {
		return "", err
	}
	return sess.ID, nil
}

func (si *signIns) EndAll(ctx context.Context, tx pgx.Tx, userID, reason string) (int, error) {
	return si.s.end(ctx, tx, reason, `SELECT id FROM sessions WHERE user_id = $1 FOR UPDATE`, userID)
}

// begin rotates the browser's session: whatever session it brought is ended, a new one starts,
// its cookie is set and the user's last sign-in stamped. Password and provider sign-ins share it.
func (s *sessions) begin(c echo.Context, ctx context.Context, tx pgx.Tx, userID, method string) (*session, error) {
	if old := s.presented(c); old != "" {
		if hash, ok := s.verify(old); ok {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
				return nil, err
			}
		}
	}
	token, sess, err := s.create(ctx, tx, userID, method)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, userID, sess.CreatedAt); err != nil {
		return nil, err
	}
	s.setCookie(c, token)
	return sess, nil
}

func findAccount(ctx context.Context, tx pgx.Tx, where string, args ...any) (*Account, error) {
	a := &Account{}
	err := tx.QueryRow(ctx, `SELECT id, username, owner, disabled, oidc_subject IS NOT NULL FROM users WHERE `+where+` FOR UPDATE`, args...).
		Scan(&a.ID, &a.Username, &a.Owner, &a.Disabled, &a.Linked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoAccount
	}
	return a, err
}

// AccountByIdentity finds the user bound to an issuer's subject.
func AccountByIdentity(ctx context.Context, tx pgx.Tx, issuer, subject string) (*Account, error) {
	return findAccount(ctx, tx, `oidc_issuer = $1 AND oidc_subject = $2`, issuer, subject)
}

// AccountByEmail finds the user with this email address (case-insensitively). Two users
// sharing an address match neither: linking must never guess.
func AccountByEmail(ctx context.Context, tx pgx.Tx, email string) (*Account, error) {
	if strings.TrimSpace(email) == "" {
		return nil, ErrNoAccount
	}
	return findAccount(ctx, tx, `lower(email) = lower($1) AND (SELECT count(*) FROM users o WHERE lower(o.email) = lower($1)) = 1`, email)
}

// LinkIdentity binds a user to an issuer's subject; from then on that identity signs in as them.
func LinkIdentity(ctx context.Context, tx pgx.Tx, userID, issuer, subject string) error {
	_, err := tx.Exec(ctx, `UPDATE users SET oidc_issuer = $2, oidc_subject = $3, updated_at = now() WHERE id = $1`, userID, issuer, subject)
	return err
}

// CreateFromIdentity creates a user who signs in through a provider only (no password). When
// the wanted username is taken or invalid, a suffix from the subject makes it unique.
func CreateFromIdentity(ctx context.Context, tx pgx.Tx, id Identity, now time.Time) (*Account, error) {
	base := usernameFrom(id)
	userID := uuid.NewString()
	for i, name := range []string{base, base + "-" + shortHash(id.Issuer+" "+id.Subject)} {
		_, err := tx.Exec(ctx, `SAVEPOINT create_identity`)
		if err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO users (id, username, display_name, email, oidc_issuer, oidc_subject, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, userID, name, app.Truncate(id.DisplayName, 128), id.Email, id.Issuer, id.Subject, now)
		if app.IsUniqueViolation(err) && i == 0 {
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT create_identity`); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Account{ID: userID, Username: name, Linked: true}, nil
	}
	return nil, errors.New("no free username for the new account")
}

func usernameFrom(id Identity) string {
	for _, cand := range []string{id.Username, strings.Split(id.Email, "@")[0], "sso"} {
		var b strings.Builder
		for _, r := range cand {
			if r < 128 && (r == '.' || r == '_' || r == '@' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				b.WriteRune(r)
			}
		}
		name := strings.TrimLeft(b.String(), "._@-")
		if len(name) > 50 {
			name = name[:50]
		}
		if validateUsername(name) == nil {
			return name
		}
	}
	return "sso"
}

// SetRoles makes a user's roles exactly roleIDs, as a provider's mapping decided (unknown ids
// are skipped), and says what changed. The owner's roles are never touched.
func SetRoles(ctx context.Context, tx pgx.Tx, userID string, roleIDs []string) (RoleChange, error) {
	ch := RoleChange{Granted: []RoleRef{}, Removed: []RoleRef{}}
	if roleIDs == nil {
		roleIDs = []string{}
	}
	rows, err := tx.Query(ctx, `
		WITH wanted AS (SELECT id FROM roles WHERE id::text = ANY($2)),
		removed AS (DELETE FROM user_roles ur WHERE ur.user_id = $1 AND ur.role_id NOT IN (SELECT id FROM wanted)
			AND NOT (SELECT owner FROM users WHERE id = $1) RETURNING ur.role_id),
		granted AS (INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM wanted
			WHERE NOT (SELECT owner FROM users WHERE id = $1) ON CONFLICT DO NOTHING RETURNING role_id)
		SELECT 'granted', r.id, r.name FROM granted g JOIN roles r ON r.id = g.role_id
		UNION ALL SELECT 'removed', r.id, r.name FROM removed d JOIN roles r ON r.id = d.role_id
		ORDER BY 1, 3`, userID, roleIDs)
	if err != nil {
		return ch, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var r RoleRef
		if err := rows.Scan(&kind, &r.ID, &r.Name); err != nil {
			return ch, err
		}
		if kind == "granted" {
			ch.Granted = append(ch.Granted, r)
		} else {
			ch.Removed = append(ch.Removed, r)
		}
	}
	return ch, rows.Err()
}

// RolesByID returns the roles among ids that exist, for checking a provider's configuration.
func RolesByID(ctx context.Context, db app.Querier, ids []string) ([]RoleRef, error) {
	rows, err := db.Query(ctx, `SELECT id, name FROM roles WHERE id::text = ANY($1) ORDER BY name`, ids)
	return app.Collect(rows, err, func(row pgx.Row) (RoleRef, error) {
		var r RoleRef
		return r, row.Scan(&r.ID, &r.Name)
	})
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:3])
}
