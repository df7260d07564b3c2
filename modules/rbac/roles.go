package rbac

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// Role is a named set of scopes.
type Role struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin" doc:"Built-in roles (admin, operator, viewer) cannot be changed or deleted."`
	Scopes      []string  `json:"scopes"`
	UserCount   int       `json:"user_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CreateRole is the body of POST /api/v1/roles.
type CreateRole struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
}

// UpdateRole is the body of PATCH /api/v1/roles/{id}; absent fields are left as they are.
type UpdateRole struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	Scopes      *[]string `json:"scopes,omitempty"`
}

var roleNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

const roleColumns = `r.id, r.name, r.description, r.builtin, r.scopes, r.created_at, r.updated_at,
	(SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id)`

func scanRole(row pgx.Row) (*Role, error) {
	r := &Role{}
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Builtin, &r.Scopes, &r.CreatedAt, &r.UpdatedAt, &r.UserCount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("role")
	}
	if r.Scopes == nil {
		r.Scopes = []string{}
	}
	return r, err
}

func getRole(ctx context.Context, db app.Querier, id string) (*Role, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("role")
	}
	return scanRole(db.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles r WHERE r.id = $1`, id))
}

// RoleByName finds a role by its name, case-insensitively.
func RoleByName(ctx context.Context, db app.Querier, name string) (*Role, error) {
	return scanRole(db.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles r WHERE lower(r.name) = lower($1)`, name))
}

var roleSorts = []string{"name", "created_at", "updated_at"}

func listRoles(ctx context.Context, db app.Querier, l app.List) (app.Page[*Role], error) {
	rows, err := db.Query(ctx, `SELECT `+roleColumns+` FROM roles r ORDER BY r.builtin DESC, r.`+l.Sort+` `+l.Direction()+`, r.id LIMIT $1 OFFSET $2`, l.Limit+1, l.Offset)
	out, err := app.Collect(rows, err, scanRole)
	if err != nil {
		return app.Page[*Role]{}, err
	}
	return app.Paginate(l, out), nil
}

func validateRole(name, description string) error {
	if !roleNamePattern.MatchString(name) {
		return invalid("name", "invalid_name", "a role name is 1 to 64 letters, digits, spaces, dots, dashes or underscores")
	}
	return validateText("description", description, 512)
}

func createRole(ctx context.Context, tx pgx.Tx, actor *app.Principal, in CreateRole, now time.Time) (*Role, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := validateRole(in.Name, in.Description); err != nil {
		return nil, err
	}
	scopes, err := normaliseScopes("scopes", in.Scopes)
	if err != nil {
		return nil, err
	}
	if err := mayGrant(actor, "scopes", scopes); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	_, err = tx.Exec(ctx, `INSERT INTO roles (id, name, description, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		id, in.Name, in.Description, scopes, now)
	if app.IsUniqueViolation(err) {
		return nil, conflict("name", "role_name_taken", "a role named "+quote(in.Name)+" exists")
	}
	if err != nil {
		return nil, err
	}
	return getRole(ctx, tx, id)
}

func updateRole(ctx context.Context, tx pgx.Tx, actor *app.Principal, id string, in UpdateRole, now time.Time) (before, after *Role, err error) {
	if before, err = getRole(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	if before.Builtin {
		return nil, nil, errRoleBuiltin
	}
	// A role holding scopes the actor lacks is as strong as its strongest holder: changing it
	// (even taking scopes away) is changing accounts the actor may not touch.
	if err := mayGrant(actor, "scopes", before.Scopes); err != nil {
		return nil, nil, err
	}
	name, desc, scopes := before.Name, before.Description, before.Scopes
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		desc = *in.Description
	}
	if err := validateRole(name, desc); err != nil {
		return nil, nil, err
	}
	if in.Scopes != nil {
		if scopes, err = normaliseScopes("scopes", *in.Scopes); err != nil {
			return nil, nil, err
		}
		if err := mayGrant(actor, "scopes", scopes); err != nil {
			return nil, nil, err
		}
	}
	_, err = tx.Exec(ctx, `UPDATE roles SET name = $2, description = $3, scopes = $4, updated_at = $5 WHERE id = $1`, id, name, desc, scopes, now)
	if app.IsUniqueViolation(err) {
		return nil, nil, conflict("name", "role_name_taken", "a role named "+quote(name)+" exists")
	}
	if err != nil {
		return nil, nil, err
	}
	after, err = getRole(ctx, tx, id)
	return before, after, err
}

func deleteRole(ctx context.Context, tx pgx.Tx, id string) (*Role, error) {
	r, err := getRole(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if r.Builtin {
		return nil, errRoleBuiltin
	}
	rows, err := tx.Query(ctx, `SELECT u.username FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE ur.role_id = $1 ORDER BY u.username`, id)
	if err != nil {
		return nil, err
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, app.Conflict("role_in_use", "the role is held by "+strings.Join(users, ", ")+"; take it from them first").
			WithDetail(map[string]any{"users": users})
	}
	_, err = tx.Exec(ctx, `DELETE FROM roles WHERE id = $1`, id)
	return r, err
}

// syncBuiltinRoles keeps the built-in roles in step with the code's catalogue, recording any
// change in the audit log as the system's doing.
func syncBuiltinRoles(ctx context.Context, tx pgx.Tx, now time.Time) error {
	for _, b := range builtinRoles {
		existing, err := RoleByName(ctx, tx, b.name)
		want := b.scopes()
		switch {
		case isNotFound(err):
			id := uuid.NewString()
			if _, err := tx.Exec(ctx, `INSERT INTO roles (id, name, description, builtin, scopes, created_at, updated_at) VALUES ($1, $2, $3, true, $4, $5, $5)`,
				id, b.name, b.description, want, now); err != nil {
				return err
			}
			created, _ := getRole(ctx, tx, id)
			if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "role.create", ResourceType: "role", ResourceID: id, After: created}); err != nil {
				return err
			}
		case err != nil:
			return err
		case !existing.Builtin || !equalStrings(existing.Scopes, want) || existing.Description != b.description:
			if _, err := tx.Exec(ctx, `UPDATE roles SET builtin = true, scopes = $2, description = $3, updated_at = $4 WHERE id = $1`,
				existing.ID, want, b.description, now); err != nil {
				return err
			}
			updated, _ := getRole(ctx, tx, existing.ID)
			if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "role.update", ResourceType: "role", ResourceID: existing.ID, Before: existing, After: updated}); err != nil {
				return err
			}
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var e *app.Error
	return errors.As(err, &e) && e.Code == "not_found"
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
