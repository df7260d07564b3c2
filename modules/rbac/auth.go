package rbac

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/rbac/rbacapi"
)

// Login is the body of POST /api/v1/auth/login.
type Login struct {
	Username string `json:"username"`
	Password string `json:"password" audit:"secret"`
}

// Me is who the caller is: the user, their effective scopes, and the session's CSRF token.
type Me struct {
	User             *User     `json:"user"`
	Scopes           []string  `json:"scopes" doc:"Every scope the caller holds (the owner holds all)."`
	Owner            bool      `json:"owner"`
	CSRFToken        string    `json:"csrf_token,omitempty" doc:"Send as X-CSRF-Token on every state-changing request made with the session cookie."`
	SessionExpiresAt time.Time `json:"session_expires_at,omitzero"`
	Via              string    `json:"via" doc:"session or token"`
}

// ChangePassword is the body of PUT /api/v1/auth/password.
type ChangePassword struct {
	CurrentPassword string `json:"current_password" audit:"secret"`
	NewPassword     string `json:"new_password" audit:"secret"`
}

func (h *handlers) login(c echo.Context) error {
	var in Login
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := h.clock.Now()
	ip := app.RequestMetaFrom(ctx).RemoteIP
	accountKey, addressKey := throttleKeys(in.Username, ip)
	until, err := lockedUntil(ctx, h.pool(), now, accountKey, addressKey)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		h.recordLogin(ctx, in.Username, "", auditapi.Failure, "throttled")
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds())+1))
		return &app.Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Message: "too many failed sign-ins; try again later"}
	}
	userID, ok, err := h.checkCredentials(ctx, in)
	if err != nil {
		return err
	}
	if !ok {
		err := pgx.BeginFunc(ctx, h.pool(), func(tx pgx.Tx) error {
			if err := recordFailure(ctx, tx, now, accountKey, accountDelay); err != nil {
				return err
			}
			if err := recordFailure(ctx, tx, now, addressKey, addressDelay); err != nil {
				return err
			}
			return auditapi.Record(ctx, tx, loginEntry(in.Username, userID, auditapi.Failure, "invalid credentials"))
		})
		if err != nil {
			return err
		}
		return errInvalidCredentials
	}
	var me *Me
	err = app.InTx(ctx, h.pool(), func(ctx context.Context, ch *app.Change) error {
		if err := clearFailures(ctx, ch.Tx, accountKey); err != nil {
			return err
		}
		if me, err = h.startSession(c, ctx, ch.Tx, userID, "local"); err != nil {
			return err
		}
		return auditapi.Record(ctx, ch.Tx, loginEntry(in.Username, userID, auditapi.Success, ""))
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, me)
}

// checkCredentials verifies a username and password. It spends the same time whether the
// account exists, is disabled, or has no password, and says nothing about which.
func (h *handlers) checkCredentials(ctx context.Context, in Login) (userID string, ok bool, err error) {
	var hash *string
	var disabled bool
	err = h.pool().QueryRow(ctx, `SELECT id, password_hash, disabled FROM users WHERE lower(username) = lower($1)`, in.Username).
		Scan(&userID, &hash, &disabled)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && hash == nil) {
		burnPasswordCheck(in.Password)
		return userID, false, nil
	}
	if err != nil {
		return "", false, err
	}
	if !CheckPassword(*hash, in.Password) || disabled {
		return userID, false, nil
	}
	return userID, true, nil
}

func loginEntry(username, userID, outcome, reason string) auditapi.Entry {
	return rbacapi.LoginEntry("local", username, userID, outcome, reason, nil)
}

func (h *handlers) recordLogin(ctx context.Context, username, userID, outcome, reason string) {
	if err := auditapi.RecordNow(ctx, h.pool(), loginEntry(username, userID, outcome, reason)); err != nil {
		h.m.Log.Error("recording a sign-in attempt", "err", err)
	}
}

// startSession rotates the browser's session (sessions.begin) and says who is now signed in.
func (h *handlers) startSession(c echo.Context, ctx context.Context, tx pgx.Tx, userID, method string) (*Me, error) {
	sess, err := h.sessions.begin(c, ctx, tx, userID, method)
	if err != nil {
		return nil, err
	}
	p, err := userPrincipal(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	return h.me(ctx, tx, p, sess)
}

func (h *handlers) me(ctx context.Context, db app.Querier, p *app.Principal, sess *session) (*Me, error) {
	u, err := GetUser(ctx, db, p.UserID)
	if err != nil {
		return nil, err
	}
	me := &Me{User: u, Owner: p.Owner, Scopes: []string{}, Via: "token"}
	for _, s := range catalogue {
		if p.Can(s.Scope) {
			me.Scopes = append(me.Scopes, s.Scope)
		}
	}
	if sess != nil {
		me.Via, me.CSRFToken = "session", sess.CSRF
		me.SessionExpiresAt = sess.ExpiresAt
		if idle := sess.LastSeenAt.Add(h.sessions.idle); idle.Before(me.SessionExpiresAt) {
			me.SessionExpiresAt = idle
		}
	}
	return me, nil
}

func (h *handlers) getMe(c echo.Context) error {
	ctx := c.Request().Context()
	me, err := h.me(ctx, h.pool(), app.PrincipalFrom(ctx), sessionFrom(ctx))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, me)
}

func (h *handlers) logout(c echo.Context) error {
	ctx := c.Request().Context()
	p := app.PrincipalFrom(ctx)
	sess := sessionFrom(ctx)
	if sess == nil {
		return app.Invalid("", "not_a_session", "API tokens are revoked, not signed out: DELETE /api/v1/tokens/{id}")
	}
	tx := app.Tx(c)
	var method string
	if err := tx.QueryRow(ctx, `DELETE FROM sessions WHERE id = $1 RETURNING method`, sess.ID).Scan(&method); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "session.logout", ResourceType: "session", ResourceID: sess.ID,
		Detail: map[string]any{"user_id": p.UserID, "username": p.Name, "method": method}}); err != nil {
		return err
	}
	h.sessions.clearCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) changePassword(c echo.Context) error {
	var in ChangePassword
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	p := app.PrincipalFrom(ctx)
	var hash *string
	var username string
	if err := tx.QueryRow(ctx, `SELECT username, password_hash FROM users WHERE id = $1`, p.UserID).Scan(&username, &hash); err != nil {
		return err
	}
	if hash == nil || !CheckPassword(*hash, in.CurrentPassword) {
		return invalid("current_password", "invalid_credentials", "the current password is wrong")
	}
	keep := ""
	if s := sessionFrom(ctx); s != nil {
		keep = s.ID
	}
	if err := setPassword(ctx, tx, p.UserID, username, in.NewPassword, keep); err != nil {
		if e, ok := err.(*app.Error); ok && e.Field == "password" {
			e.Field = "new_password"
		}
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "user.password", ResourceType: "user", ResourceID: p.UserID, ResourceName: username,
		Detail: map[string]any{"changed_by": "self"}}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
