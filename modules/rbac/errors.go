package rbac

import (
	"net/http"
	"strconv"

	"mipo/app"
)

func invalid(field, code, msg string) error { return app.Invalid(field, code, msg) }

func quote(s string) string { return strconv.Quote(s) }

// conflict is a 409 that names the field at fault.
func conflict(field, code, msg string) error {
	return &app.Error{Status: http.StatusConflict, Code: code, Message: msg, Field: field}
}

var (
	errInvalidCredentials = app.Unauthorized("invalid_credentials", "invalid credentials")
	errUnauthenticated    = app.Unauthorized("unauthenticated", "sign in first")
	errSessionExpired     = app.Unauthorized("session_expired", "your session has expired; sign in again")
	errOwnerProtected     = app.Conflict("owner_protected", "the owner cannot be deleted, demoted or disabled")
	errRoleBuiltin        = app.Conflict("role_builtin", "built-in roles cannot be changed or deleted")
)
