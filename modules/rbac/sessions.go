package rbac

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

var (
	settingSessionIdle = app.DurationSetting("MIPO_SESSION_IDLE", 30*time.Minute, "A session ends after this long without a request.")
	settingSessionMax  = app.DurationSetting("MIPO_SESSION_MAX", 12*time.Hour, "A session ends this long after sign-in, however active.")
	settingSessionCap  = app.IntSetting("MIPO_SESSION_LIMIT", 10, 1, 1000, "Sessions one user may hold at once; a sign-in past it ends that user's oldest session.")
)

// SessionCookie is the name of the session cookie over plain HTTP. Over TLS it carries the
// __Host- prefix (SecureSessionCookie): the browser then accepts it only with Secure, Path=/
// and no Domain, so neither a sibling host nor a plain-HTTP page can set or shadow it.
const (
	SessionCookie       = "mipo_session"
	SecureSessionCookie = "__Host-" + SessionCookie
)

// sessions issues and checks session tokens. A token is "s1.<random>.<HMAC of random>": the
// signature lets a forged cookie be refused without a database read, and only a SHA-256 of
// the random part is stored, so a copy of the database holds no usable session.
type sessions struct {
	key       []byte
	idle, max time.Duration
	limit     int // sessions per user
	clock     app.Clock
	secure    bool // TLS served by mipo itself
}

type session struct {
	ID         string
	UserID     string
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

func (s *sessions) sign(random []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("mipo session v1"))
	mac.Write(random)
	return "s1." + base64.RawURLEncoding.EncodeToString(random) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks a cookie's signature and returns the hash under which its session is stored.
func (s *sessions) verify(token string) ([]byte, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "s1" {
		return nil, false
	}
	random, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(random) != 32 {
		return nil, false
	}
	if !hmac.Equal([]byte(s.sign(random)), []byte(token)) {
		return nil, false
	}
	sum := sha256.Sum256(random)
	return sum[:], true
}

// create starts a new session for a user and returns its cookie value. Each sign-in gets a
// new random id, so a session id planted before sign-in is worthless after it.
func (s *sessions) create(ctx context.Context, tx pgx.Tx, userID, method string) (string, *session, error) {
	random := make([]byte, 32)
	csrf := make([]byte, 24)
	if _, err := rand.Read(random); err != nil {
		return "", nil, err
	}
	rand.Read(csrf)
	sum := sha256.Sum256(random)
	now := s.clock.Now()
	meta := app.RequestMetaFrom(ctx)
	sess := &session{ID: uuid.NewString(), UserID: userID, CSRF: base64.RawURLEncoding.EncodeToString(csrf),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.max)}
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, csrf_token, method, source_ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
		sess.ID, sum[:], userID, sess.CSRF, method, meta.RemoteIP, app.Truncate(meta.UserAgent, 512), now, sess.ExpiresAt)
	if err != nil {
		return "", nil, err
	}
	// Past the limit the user's oldest sessions end, so sign-ins in a loop cannot pile up
	// sessions without bound; the new session is never one of them.
	_, err = s.end(app.WithPrincipal(ctx, app.System("rbac.session-limit")), tx, "limit", `
		SELECT id FROM sessions WHERE user_id = $1 AND id <> $2 ORDER BY created_at DESC, id OFFSET $3 FOR UPDATE`,
		userID, sess.ID, s.limit-1)
	if err != nil {
		return "", nil, err
	}
	return s.sign(random), sess, nil
}

var errNoSession = errors.New("no such session")

// lookup finds the session of a cookie. An expired session is ended and its expiry audited
// on the spot, and errSessionExpired returned.
func (s *sessions) lookup(ctx context.Context, pool app.Querier, token string) (*session, error) {
	hash, ok := s.verify(token)
	if !ok {
		return nil, errNoSession
	}
	sess := &session{}
	err := pool.QueryRow(ctx, `SELECT id, user_id, csrf_token, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = $1`, hash).
		Scan(&sess.ID, &sess.UserID, &sess.CSRF, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if reason := s.expired(sess); reason != "" {
		return nil, errSessionExpired
	}
	return sess, nil
}

// expired says why a session is over ("idle" or "absolute"), or "" while it is alive.
func (s *sessions) expired(sess *session) string {
	now := s.clock.Now()
	switch {
	case !now.Before(sess.ExpiresAt):
		return "absolute"
	case !now.Before(sess.LastSeenAt.Add(s.idle)):
		return "idle"
	}
	return ""
}

// touch records activity, at most every 15 seconds per session to spare the database.
func (s *sessions) touch(ctx context.Context, db app.Querier, sess *session) {
	now := s.clock.Now()
	if now.Sub(sess.LastSeenAt) > 15*time.Second {
		db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, sess.ID, now)
	}
}

// expireSessions removes sessions past their idle or absolute expiry, auditing each. It runs
// as a background job; a session found expired during a request is left for it, so every
// expiry is recorded exactly once, by the job.
func (s *sessions) expireSessions(ctx context.Context, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}) (int, error) {
	ctx = app.WithPrincipal(ctx, app.System("rbac.expire-sessions"))
	now := s.clock.Now()
	total := 0
	for {
		n, err := s.expireBatch(ctx, pool, now)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (s *sessions) expireBatch(ctx context.Context, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, now time.Time) (int, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	n, err := s.end(ctx, tx, "", `SELECT id FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2 LIMIT 200 FOR UPDATE SKIP LOCKED`,
		now, now.Add(-s.idle))
	if err != nil {
		return 0, err
	}
	return n, tx.Commit(ctx)
}

// end deletes the sessions the selection names and audits each as session.expire with its
// reason: "limit", or for an expiry (reason "") "idle" or "absolute".
func (s *sessions) end(ctx context.Context, tx pgx.Tx, reason, selection string, args ...any) (int, error) {
	rows, err := tx.Query(ctx, `
		DELETE FROM sessions WHERE id IN (`+selection+`)
		RETURNING id, user_id, source_ip, created_at, last_seen_at, expires_at,
			(SELECT username FROM users WHERE users.id = sessions.user_id)`, args...)
	if err != nil {
		return 0, err
	}
	type endedSession struct {
		id, userID, ip, username string
		created, seen, expires   time.Time
	}
	gone, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (endedSession, error) {
		var e endedSession
		return e, row.Scan(&e.id, &e.userID, &e.ip, &e.created, &e.seen, &e.expires, &e.username)
	})
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	for _, e := range gone {
		why := reason
		if why == "" {
			why = "idle"
			if !now.Before(e.expires) {
				why = "absolute"
			}
		}
		err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "session.expire", ResourceType: "session", ResourceID: e.id,
			Detail: map[string]any{"user_id": e.userID, "username": e.username, "reason": why, "source_ip": e.ip,
				"created_at": e.created, "last_seen_at": e.seen}})
		if err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// setCookie sends the session cookie: HttpOnly, SameSite=Lax, and Secure with the __Host-
// name whenever the browser reached mipo over TLS (directly, or through a proxy that says so).
// The browser keeps it for the absolute lifetime; the server's expiry is the one that counts.
func (s *sessions) setCookie(c echo.Context, value string) {
	name, secure := s.cookie(c)
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(s.max.Seconds()), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure})
}

func (s *sessions) clearCookie(c echo.Context) {
	name, secure := s.cookie(c)
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure})
}

// cookie names the session cookie of this request and says whether it is sent Secure.
func (s *sessions) cookie(c echo.Context) (name string, secure bool) {
	if s.secure || app.RequestScheme(c) == "https" {
		return SecureSessionCookie, true
	}
	return SessionCookie, false
}

// presented is the session cookie the browser sent, or "".
func (s *sessions) presented(c echo.Context) string {
	name, _ := s.cookie(c)
	if ck, err := c.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}
