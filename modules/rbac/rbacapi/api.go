// Package rbacapi is the rbac module's contract with the other modules: what a module that
// vouches for people (OpenID Connect) needs to find, create and sign in mipo's users. It holds
// no SQL: the rbac module fills in the calls from its init() (main.go links every module in),
// so such a module does not build rbac's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode).
package rbacapi

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// Account is what a provider's sign-in needs to know about a mipo user.
type Account struct {
	ID       string
	Username string
	Owner    bool
	Disabled bool
	Linked   bool // already bound to an OpenID Connect identity
}

// ErrNoAccount says no user matches.
var ErrNoAccount = errors.New("no such account")

// Identity is a person as a provider describes them, for creating their account.
type Identity struct {
	Issuer, Subject       string
	Username, DisplayName string
	Email                 string // only a verified address
}

// RoleRef names a role a user holds.
type RoleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// RoleChange says which roles a provider's sign-in granted and removed.
type RoleChange struct {
	Granted []RoleRef `json:"granted"`
	Removed []RoleRef `json:"removed"`
}

// SignIns is what another module that vouches for people (OpenID Connect) needs to sign them
// in: sessions with the same cookie, limit and audit as a password sign-in. rbac builds it from
// the same configuration as its own sessions, so both agree on keys, lifetimes and cookie names.
type SignIns interface {
	// Start ends the session the browser brought, begins a new one for userID and sets its
	// cookie. It returns the new session's id. The caller writes the sign-in's audit record
	// (LoginEntry).
	Start(c echo.Context, ctx context.Context, tx pgx.Tx, userID, method string) (string, error)
	// EndAll ends every session of a user, auditing each as session.expire with the reason.
	EndAll(ctx context.Context, tx pgx.Tx, userID, reason string) (int, error)
}

// LoginEntry is the audit record of a sign-in attempt by any method ("local", "oidc"). detail
// adds to the record's detail (the provider, say); reason says why a failure failed.
func LoginEntry(method, username, userID, outcome, reason string, detail map[string]any) auditapi.Entry {
	d := map[string]any{"method": method, "username": username}
	for k, v := range detail {
		d[k] = v
	}
	if reason != "" {
		d["reason"] = reason
	}
	return auditapi.Entry{Action: "session.login", ResourceType: "user", ResourceID: userID, ResourceName: username, Outcome: outcome, Detail: d,
		Actor: &auditapi.Actor{Kind: app.PrincipalUser, ID: userID, Name: username}}
}

// The calls the rbac module answers, filled in by its init().
var (
	// NewSignIns returns the sign-in service for a module mounted beside rbac.
	NewSignIns func(m *app.Mount) SignIns
	// AccountByIdentity finds the user bound to an issuer's subject; ErrNoAccount when none is.
	AccountByIdentity func(ctx context.Context, tx pgx.Tx, issuer, subject string) (*Account, error)
	// AccountByEmail finds the user with this email address (case-insensitively). Two users
	// sharing an address match neither: linking must never guess.
	AccountByEmail func(ctx context.Context, tx pgx.Tx, email string) (*Account, error)
	// LinkIdentity binds a user to an issuer's subject; from then on that identity signs in as them.
	LinkIdentity func(ctx context.Context, tx pgx.Tx, userID, issuer, subject string) error
	// CreateFromIdentity creates a user who signs in through a provider only (no password).
	// When the wanted username is taken or invalid, a suffix from the subject makes it unique.
	CreateFromIdentity func(ctx context.Context, tx pgx.Tx, id Identity, now time.Time) (*Account, error)
	// SetRoles makes a user's roles exactly roleIDs, as a provider's mapping decided (unknown
	// ids are skipped), and says what changed. The owner's roles are never touched.
	SetRoles func(ctx context.Context, tx pgx.Tx, userID string, roleIDs []string) (RoleChange, error)
	// RolesByID returns the roles among ids that exist, for checking a provider's configuration.
	RolesByID func(ctx context.Context, db app.Querier, ids []string) ([]RoleRef, error)
)
