package rbac

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
)

// guard checks every non-public route: who is calling (session cookie or bearer token), that
// a cookie request carries its CSRF token, and that the caller holds the route's scope.
type guard struct {
	pool     func() app.ConfigDB
	sessions *sessions
	clock    app.Clock
}

// CSRFHeader carries a session's CSRF token on every state-changing request made with the
// session cookie. A cross-site page can make the browser send the cookie, never this header.
const CSRFHeader = "X-CSRF-Token"

func (g *guard) middleware(r app.Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, sess, err := g.authenticate(c, r.Mutates())
			if err != nil {
				return err
			}
			if r.Scope != app.SignedIn && !p.Can(r.Scope) {
				return app.Forbidden("forbidden", "this needs the "+r.Scope+" scope, which you do not hold")
			}
			ctx := app.WithPrincipal(c.Request().Context(), p)
			if sess != nil {
				ctx = context.WithValue(ctx, sessionKey{}, sess)
			}
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

func (g *guard) authenticate(c echo.Context, mutates bool) (*app.Principal, *session, error) {
	ctx := c.Request().Context()
	if auth := c.Request().Header.Get(echo.HeaderAuthorization); auth != "" {
		bearer, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return nil, nil, app.Unauthorized("invalid_token", "use 'Authorization: Bearer <API token>'")
		}
		p, err := tokenPrincipal(ctx, g.pool(), g.clock, strings.TrimSpace(bearer))
		return p, nil, err
	}
	cookie := g.sessions.presented(c)
	if cookie == "" {
		return nil, nil, errUnauthenticated
	}
	sess, err := g.sessions.lookup(ctx, g.pool(), cookie)
	if errors.Is(err, errNoSession) {
		return nil, nil, errUnauthenticated
	}
	if err != nil {
		return nil, nil, err
	}
	if mutates && subtle.ConstantTimeCompare([]byte(c.Request().Header.Get(CSRFHeader)), []byte(sess.CSRF)) != 1 {
		return nil, nil, app.Forbidden("csrf_failed", "the request lacks this session's "+CSRFHeader+" header")
	}
	p, err := userPrincipal(ctx, g.pool(), sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	p.SessionID = sess.ID
	g.sessions.touch(ctx, g.pool(), sess)
	return p, sess, nil
}

// scopesOfUser is the SQL for the union of the scopes of user u's roles.
const scopesOfUser = `COALESCE((SELECT array_agg(DISTINCT s) FROM user_roles ur JOIN roles r ON r.id = ur.role_id, unnest(r.scopes) s
	WHERE ur.user_id = u.id), '{}')`

// userPrincipal loads a user with the union of their roles' scopes.
func userPrincipal(ctx context.Context, db app.Querier, userID string) (*app.Principal, error) {
	var name string
	var owner, disabled bool
	var scopes []string
	err := db.QueryRow(ctx, `SELECT u.username, u.owner, u.disabled, `+scopesOfUser+` FROM users u WHERE u.id = $1`, userID).
		Scan(&name, &owner, &disabled, &scopes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if disabled {
		return nil, app.Unauthorized("account_disabled", "this account is disabled")
	}
	p := &app.Principal{Kind: app.PrincipalUser, ID: userID, UserID: userID, Name: name, Owner: owner, Scopes: map[string]bool{}}
	for _, s := range scopes {
		p.Scopes[s] = true
	}
	return p, nil
}

// setupGate answers 409 setup_required on every /api/v1 route but setup itself (and the
// OpenAPI document) while mipo has no users. Once a user exists it never looks again: the
// owner cannot be deleted, so there is no way back to zero users.
type setupGate struct {
	pool func() app.ConfigDB
	done atomic.Bool
}

func (s *setupGate) isDone(ctx context.Context) (bool, error) {
	if s.done.Load() {
		return true, nil
	}
	var exists bool
	if err := s.pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
		return false, err
	}
	if exists {
		s.done.Store(true)
	}
	return exists, nil
}

func (s *setupGate) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Path(); p == "/api/v1/setup" || p == "/api/v1/openapi.json" {
			return next(c)
		}
		done, err := s.isDone(c.Request().Context())
		if err != nil {
			return err
		}
		if !done {
			return app.Conflict("setup_required", "mipo has no users yet: complete the first-run setup (POST /api/v1/setup or `mipo setup`)")
		}
		return next(c)
	}
}

// sameOrigin refuses state-changing API requests whose Origin header names another site: a
// second line of defence behind SameSite cookies and the CSRF header.
func sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		origin := req.Header.Get("Origin")
		if origin == "" || req.Method == http.MethodGet || req.Method == http.MethodHead {
			return next(c)
		}
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, req.Host) {
			return app.Forbidden("cross_origin", "cross-site requests are refused")
		}
		return next(c)
	}
}
