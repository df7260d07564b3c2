package rbac

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

type handlers struct {
	m        *app.Mount
	clock    app.Clock
	sessions *sessions
	gate     *setupGate
}

func (h *handlers) pool() app.ConfigDB { return h.m.ConfigDB }

func (h *handlers) routes() []app.Route {
	get, post, patch, put, del := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete
	return []app.Route{
		{Method: get, Path: "/api/v1/setup", Scope: app.Public, Handler: h.setupStatus, Response: SetupStatus{},
			Summary: "Whether first-run setup is needed (404 once it is done)"},
		{Method: post, Path: "/api/v1/setup", Scope: app.Public, Handler: h.setup, Request: Setup{}, Response: SetupDone{}, Status: http.StatusCreated,
			Summary: "Create the owner account and sign in; only while mipo has no users"},
		{Method: post, Path: "/api/v1/auth/login", Scope: app.Public, Handler: h.login, Request: Login{}, Response: Me{}, Tx: app.TxOwn,
			Summary: "Sign in with a username and password; sets the session cookie"},
		{Method: post, Path: "/api/v1/auth/logout", Scope: app.SignedIn, Handler: h.logout, Status: http.StatusNoContent,
			Summary: "Sign out: the session ends at once"},
		{Method: get, Path: "/api/v1/auth/me", Scope: app.SignedIn, Handler: h.getMe, Response: Me{},
			Summary: "Who is signed in, with their scopes and the session's CSRF token"},
		{Method: put, Path: "/api/v1/auth/password", Scope: app.SignedIn, Handler: h.changePassword, Request: ChangePassword{}, Status: http.StatusNoContent,
			Summary: "Change your own password; your other sessions end"},

		{Method: get, Path: "/api/v1/scopes", Scope: app.SignedIn, Handler: h.listScopes, Response: app.Page[Scope]{},
			Summary: "Every scope mipo knows"},

		{Method: get, Path: "/api/v1/users", Scope: "users:view", Handler: h.listUsers, Query: UserQuery{}, Response: app.Page[*User]{},
			Summary: "List users; filter by role, sign-in method and text"},
		{Method: post, Path: "/api/v1/users", Scope: "users:write", Handler: auditapi.Handler(http.StatusCreated, h.createUser), Request: CreateUser{}, Response: User{}, Status: http.StatusCreated,
			Summary: "Create a user"},
		{Method: get, Path: "/api/v1/users/:id", Scope: "users:view", Handler: h.getUser, Response: User{}, Sensitive: true,
			Summary: "One user's profile (an audited read)"},
		{Method: patch, Path: "/api/v1/users/:id", Scope: "users:write", Handler: auditapi.Handler(http.StatusOK, h.updateUser), Request: UpdateUser{}, Response: User{},
			Summary: "Change a user; absent fields are left as they are"},
		{Method: del, Path: "/api/v1/users/:id", Scope: "users:write", Handler: auditapi.Handler(http.StatusNoContent, h.deleteUser), Status: http.StatusNoContent,
			Summary: "Delete a user (never the owner)"},

		{Method: get, Path: "/api/v1/roles", Scope: "roles:view", Handler: h.listRoles, Query: app.ListQuery{}, Response: app.Page[*Role]{},
			Summary: "List roles, built-in first"},
		{Method: post, Path: "/api/v1/roles", Scope: "roles:write", Handler: auditapi.Handler(http.StatusCreated, h.createRole), Request: CreateRole{}, Response: Role{}, Status: http.StatusCreated,
			Summary: "Create a custom role"},
		{Method: get, Path: "/api/v1/roles/:id", Scope: "roles:view", Handler: h.getRole, Response: Role{},
			Summary: "One role"},
		{Method: patch, Path: "/api/v1/roles/:id", Scope: "roles:write", Handler: auditapi.Handler(http.StatusOK, h.updateRole), Request: UpdateRole{}, Response: Role{},
			Summary: "Change a custom role"},
		{Method: del, Path: "/api/v1/roles/:id", Scope: "roles:write", Handler: auditapi.Handler(http.StatusNoContent, h.deleteRole), Status: http.StatusNoContent,
			Summary: "Delete a custom role no user holds"},

		{Method: get, Path: "/api/v1/tokens", Scope: app.SignedIn, Handler: h.listTokens, Query: app.ListQuery{}, Response: app.Page[*Token]{}, Sensitive: true,
			Summary: "Your API tokens (an audited read)"},
		{Method: post, Path: "/api/v1/tokens", Scope: app.SignedIn, Handler: auditapi.Handler(http.StatusCreated, h.createToken), Request: CreateToken{}, Response: NewToken{}, Status: http.StatusCreated,
			Summary: "Create an API token with a subset of your scopes; its secret is shown once"},
		{Method: del, Path: "/api/v1/tokens/:id", Scope: app.SignedIn, Handler: auditapi.Handler(http.StatusNoContent, h.deleteToken), Status: http.StatusNoContent,
			Summary: "Revoke one of your API tokens and every token minted from it"},
	}
}

func (h *handlers) listScopes(c echo.Context) error {
	return c.JSON(http.StatusOK, app.Page[Scope]{Items: Catalogue()})
}

func (h *handlers) listUsers(c echo.Context) error {
	l, err := app.ParseList(c, userSorts...)
	if err != nil {
		return err
	}
	q := UserQuery{Role: c.QueryParam("role"), Auth: c.QueryParam("auth"), Q: c.QueryParam("q")}
	page, err := listUsers(c.Request().Context(), h.pool(), l, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getUser(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := GetUser(ctx, h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.pool(), auditapi.Entry{Action: "user.read", ResourceType: "user", ResourceID: u.ID, ResourceName: u.Username}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (h *handlers) createUser(ctx context.Context, tx pgx.Tx, c echo.Context, in CreateUser) (any, auditapi.Entry, error) {
	u, err := createUser(ctx, tx, app.PrincipalFrom(ctx), in, false, h.clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return u, auditapi.Entry{Action: "user.create", ResourceType: "user", ResourceID: u.ID, After: u,
		Detail: map[string]any{"password_set": in.Password != ""}}, nil
}

func (h *handlers) updateUser(ctx context.Context, tx pgx.Tx, c echo.Context, in UpdateUser) (any, auditapi.Entry, error) {
	before, after, err := updateUser(ctx, tx, app.PrincipalFrom(ctx), c.Param("id"), in, h.clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "user.update", ResourceType: "user", ResourceID: after.ID, Before: before, After: after,
		Detail: map[string]any{"password_changed": in.Password != nil}}, nil
}

func (h *handlers) deleteUser(ctx context.Context, tx pgx.Tx, c echo.Context, in auditapi.NoBody) (any, auditapi.Entry, error) {
	u, err := deleteUser(ctx, tx, app.PrincipalFrom(ctx), c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "user.delete", ResourceType: "user", ResourceID: u.ID, Before: u}, nil
}

func (h *handlers) listRoles(c echo.Context) error {
	l, err := app.ParseList(c, roleSorts...)
	if err != nil {
		return err
	}
	page, err := listRoles(c.Request().Context(), h.pool(), l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getRole(c echo.Context) error {
	r, err := getRole(c.Request().Context(), h.pool(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *handlers) createRole(ctx context.Context, tx pgx.Tx, c echo.Context, in CreateRole) (any, auditapi.Entry, error) {
	r, err := createRole(ctx, tx, app.PrincipalFrom(ctx), in, h.clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return r, auditapi.Entry{Action: "role.create", ResourceType: "role", ResourceID: r.ID, After: r}, nil
}

func (h *handlers) updateRole(ctx context.Context, tx pgx.Tx, c echo.Context, in UpdateRole) (any, auditapi.Entry, error) {
	before, after, err := updateRole(ctx, tx, app.PrincipalFrom(ctx), c.Param("id"), in, h.clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return after, auditapi.Entry{Action: "role.update", ResourceType: "role", ResourceID: after.ID, Before: before, After: after}, nil
}

func (h *handlers) deleteRole(ctx context.Context, tx pgx.Tx, c echo.Context, in auditapi.NoBody) (any, auditapi.Entry, error) {
	r, err := deleteRole(ctx, tx, c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "role.delete", ResourceType: "role", ResourceID: r.ID, Before: r}, nil
}

func (h *handlers) listTokens(c echo.Context) error {
	l, err := app.ParseList(c, "-created_at", "name", "expires_at", "last_used_at")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := app.PrincipalFrom(ctx)
	page, err := listTokens(ctx, h.pool(), p.UserID, l)
	if err != nil {
		return err
	}
	if err := auditapi.RecordNow(ctx, h.pool(), auditapi.Entry{Action: "token.list", ResourceType: "api_token", ResourceID: p.UserID}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) createToken(ctx context.Context, tx pgx.Tx, c echo.Context, in CreateToken) (any, auditapi.Entry, error) {
	t, err := createToken(ctx, tx, app.PrincipalFrom(ctx), in, h.clock.Now())
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return t, auditapi.Entry{Action: "token.create", ResourceType: "api_token", ResourceID: t.Token.ID, After: t.Token}, nil
}

func (h *handlers) deleteToken(ctx context.Context, tx pgx.Tx, c echo.Context, in auditapi.NoBody) (any, auditapi.Entry, error) {
	t, children, err := deleteToken(ctx, tx, app.PrincipalFrom(ctx), c.Param("id"))
	if err != nil {
		return nil, auditapi.Entry{}, err
	}
	return nil, auditapi.Entry{Action: "token.revoke", ResourceType: "api_token", ResourceID: t.ID, Before: t,
		Detail: map[string]any{"children_revoked": children}}, nil
}
