package rbac

import (
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// User is a person's account as the API shows it. It never carries a password hash.
type User struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Email       string     `json:"email"`
	AuthMethods []string   `json:"auth_methods" doc:"How the user can sign in: local (password), oidc, or both."`
	Roles       []RoleRef  `json:"roles"`
	Owner       bool       `json:"owner" doc:"The owner bypasses every scope check and cannot be deleted, demoted or disabled."`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

// CreateUser is the body of POST /api/v1/users.
type CreateUser struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email"`
	Password    string   `json:"password" audit:"secret" doc:"12 to 256 characters; leave empty for a user who signs in with OpenID Connect only."`
	Roles       []string `json:"roles" doc:"Role ids."`
	Disabled    bool     `json:"disabled"`
}

// UpdateUser is the body of PATCH /api/v1/users/{id}; absent fields are left as they are.
type UpdateUser struct {
	DisplayName *string   `json:"display_name,omitempty"`
	Email       *string   `json:"email,omitempty"`
	Roles       *[]string `json:"roles,omitempty" doc:"Role ids; replaces the user's roles."`
	Disabled    *bool     `json:"disabled,omitempty"`
	Password    *string   `json:"password,omitempty" audit:"secret"`
}

// UserQuery is the filter of GET /api/v1/users.
type UserQuery struct {
	app.ListQuery
	Role string `query:"role" json:"role,omitempty" doc:"Only users holding this role (id)."`
	Auth string `query:"auth" json:"auth,omitempty" doc:"Only users who can sign in this way: local or oidc."`
	Q    string `query:"q" json:"q,omitempty" doc:"Text in the username, display name or email."`
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

func validateUsername(u string) error {
	if !usernamePattern.MatchString(u) {
		return invalid("username", "invalid_username", "a username is 1 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit")
	}
	return nil
}

func validateText(field, v string, max int) error {
	if len(v) > max {
		return invalid(field, "too_long", field+" must be at most "+strconv.Itoa(max)+" characters")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return invalid(field, "invalid_text", field+" must not contain control characters")
		}
	}
	return nil
}

func validateEmail(v string) error {
	if v == "" {
		return nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 254 {
		return invalid("email", "invalid_email", "not an email address such as name@example.com")
	}
	return nil
}

const userColumns = `u.id, u.username, u.display_name, u.email, u.password_hash IS NOT NULL, u.oidc_subject IS NOT NULL,
	u.owner, u.disabled, u.created_at, u.updated_at, u.last_login_at,
	COALESCE((SELECT json_agg(json_build_object('id', r.id, 'name', r.name) ORDER BY r.name)
		FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]')`

func scanUser(row pgx.Row) (*User, error) {
	u := &User{}
	var local, oidc bool
	var roles []byte
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &local, &oidc, &u.Owner, &u.Disabled,
		&u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("user")
	}
	if err != nil {
		return nil, err
	}
	u.AuthMethods = []string{}
	if local {
		u.AuthMethods = append(u.AuthMethods, "local")
	}
	if oidc {
		u.AuthMethods = append(u.AuthMethods, "oidc")
	}
	u.Roles = []RoleRef{}
	json.Unmarshal(roles, &u.Roles)
	return u, nil
}

// GetUser loads one user.
func GetUser(ctx context.Context, db app.Querier, id string) (*User, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("user")
	}
	return scanUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
}

var userSorts = []string{"username", "display_name", "created_at", "last_login_at", "email"}

func listUsers(ctx context.Context, db app.Querier, l app.List, q UserQuery) (app.Page[*User], error) {
	w := &app.Where{}
	if q.Role != "" {
		if _, err := uuid.Parse(q.Role); err != nil {
			return app.Page[*User]{}, invalid("role", "invalid_role", "role must be a role id")
		}
		w.Add("EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = " + w.Arg(q.Role) + ")")
	}
	switch q.Auth {
	case "":
	case "local":
		w.Add("u.password_hash IS NOT NULL")
	case "oidc":
		w.Add("u.oidc_subject IS NOT NULL")
	default:
		return app.Page[*User]{}, invalid("auth", "invalid_auth", "auth must be local or oidc")
	}
	if q.Q != "" {
		p := w.Arg(app.Contains(q.Q))
		w.Add("(u.username ILIKE " + p + " OR u.display_name ILIKE " + p + " OR u.email ILIKE " + p + ")")
	}
	// l.Sort is one of userSorts (ParseList checked it), so it is safe to put in the SQL.
	order := "u." + l.Sort + " " + l.Direction() + " NULLS LAST, u.id"
	rows, err := db.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE `+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...)
	out, err := app.Collect(rows, err, scanUser)
	if err != nil {
		return app.Page[*User]{}, err
	}
	return app.Paginate(l, out), nil
}

// createUser validates and inserts a user with its roles. actor may grant only roles whose
// scopes it holds itself.
func createUser(ctx context.Context, tx pgx.Tx, actor *app.Principal, in CreateUser, owner bool, now time.Time) (*User, error) {
	in.Username = strings.TrimSpace(in.Username)
	if err := validateUsername(in.Username); err != nil {
		return nil, err
	}
	if err := validateText("display_name", in.DisplayName, 128); err != nil {
		return nil, err
	}
	if err := validateEmail(in.Email); err != nil {
		return nil, err
	}
	var hash *string
	if in.Password != "" || owner {
		if err := CheckPolicy(in.Username, in.Password); err != nil {
			return nil, err
		}
		h, err := HashPassword(in.Password)
		if err != nil {
			return nil, err
		}
		hash = &h
	}
	id := uuid.NewString()
	_, err := tx.Exec(ctx, `INSERT INTO users (id, username, display_name, email, password_hash, owner, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, in.Username, in.DisplayName, in.Email, hash, owner, in.Disabled, now)
	if app.IsUniqueViolation(err) {
		return nil, conflict("username", "username_taken", "the username "+quote(in.Username)+" is taken")
	}
	if err != nil {
		return nil, err
	}
	if err := setUserRoles(ctx, tx, actor, id, in.Roles); err != nil {
		return nil, err
	}
	return GetUser(ctx, tx, id)
}

func setUserRoles(ctx context.Context, tx pgx.Tx, actor *app.Principal, userID string, roleIDs []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, rid := range roleIDs {
		role, err := getRole(ctx, tx, rid)
		if err != nil {
			return invalid("roles", "unknown_role", "no role with id "+quote(rid))
		}
		if err := mayGrant(actor, "roles", role.Scopes); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, rid); err != nil {
			return err
		}
	}
	return nil
}

func updateUser(ctx context.Context, tx pgx.Tx, actor *app.Principal, id string, in UpdateUser, now time.Time) (before, after *User, err error) {
	if before, err = GetUser(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	if before.Owner && ((in.Disabled != nil && *in.Disabled) || in.Roles != nil) {
		return nil, nil, errOwnerProtected
	}
	if err := mayActOn(ctx, tx, actor, id); err != nil {
		return nil, nil, err
	}
	if in.DisplayName != nil {
		if err := validateText("display_name", *in.DisplayName, 128); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $2 WHERE id = $1`, id, *in.DisplayName); err != nil {
			return nil, nil, err
		}
	}
	if in.Email != nil {
		if err := validateEmail(*in.Email); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET email = $2 WHERE id = $1`, id, *in.Email); err != nil {
			return nil, nil, err
		}
	}
	if in.Password != nil {
		if err := setPassword(ctx, tx, id, before.Username, *in.Password, ""); err != nil {
			return nil, nil, err
		}
	}
	if in.Disabled != nil {
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled = $2 WHERE id = $1`, id, *in.Disabled); err != nil {
			return nil, nil, err
		}
		if *in.Disabled { // a disabled user is signed out everywhere at once
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
				return nil, nil, err
			}
		}
	}
	if in.Roles != nil {
		if err := setUserRoles(ctx, tx, actor, id, *in.Roles); err != nil {
			return nil, nil, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
		return nil, nil, err
	}
	after, err = GetUser(ctx, tx, id)
	return before, after, err
}

// setPassword checks the policy, stores the new hash and ends the user's other sessions.
// keepSession, when set, is the session that made the change and stays signed in.
func setPassword(ctx context.Context, tx pgx.Tx, id, username, password, keepSession string) error {
	if err := CheckPolicy(username, password); err != nil {
		return err
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, h); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id::text <> $2`, id, keepSession)
	return err
}

func deleteUser(ctx context.Context, tx pgx.Tx, actor *app.Principal, id string) (*User, error) {
	u, err := GetUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if u.Owner {
		return nil, errOwnerProtected
	}
	if actor != nil && actor.UserID == id {
		return nil, app.Conflict("self_delete", "you cannot delete your own account")
	}
	if err := mayActOn(ctx, tx, actor, id); err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	return u, err
}
