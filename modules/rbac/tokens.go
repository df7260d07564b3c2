package rbac

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// scopeTokensWrite lets an API token create and revoke its user's tokens. A session needs no
// scope for its own tokens; a token without this one may only revoke itself.
const scopeTokensWrite = "tokens:write"

var errTokenNeedsScope = app.Forbidden("forbidden", "an API token creates or revokes tokens only with the "+scopeTokensWrite+" scope")

// TokenPrefix starts every API token, so a leaked one is recognisable in logs and scanners.
const TokenPrefix = "mipo"

// Token is an API token as listed: never its secret.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The start of the token, to recognise it; the secret part is never shown again."`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreateToken is the body of POST /api/v1/tokens.
type CreateToken struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes" doc:"A subset of your own scopes."`
	ExpiresInDays int      `json:"expires_in_days" doc:"1 to 365."`
}

// NewToken is the answer to a token's creation: the only time its secret is shown.
type NewToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret" doc:"Send as 'Authorization: Bearer <secret>'. Shown once."`
}

const tokenColumns = `id, name, lookup, scopes, created_at, expires_at, last_used_at`

func scanToken(row pgx.Row) (*Token, error) {
	t := &Token{}
	var lookup string
	err := row.Scan(&t.ID, &t.Name, &lookup, &t.Scopes, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("token")
	}
	t.Prefix = app.CredentialPrefixOf(TokenPrefix, lookup)
	return t, err
}

func listTokens(ctx context.Context, db app.Querier, userID string, l app.List) (app.Page[*Token], error) {
	rows, err := db.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1 ORDER BY `+l.Sort+` `+l.Direction()+`, id LIMIT $2 OFFSET $3`,
		userID, l.Limit+1, l.Offset)
	out, err := app.Collect(rows, err, scanToken)
	if err != nil {
		return app.Page[*Token]{}, err
	}
	return app.Paginate(l, out), nil
}

func createToken(ctx context.Context, tx pgx.Tx, p *app.Principal, in CreateToken, now time.Time) (*NewToken, error) {
	if err := validateText("name", in.Name, 128); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, invalid("name", "required", "give the token a name that says what uses it")
	}
	if in.ExpiresInDays < 1 || in.ExpiresInDays > 365 {
		return nil, invalid("expires_in_days", "invalid_expiry", "a token expires after 1 to 365 days")
	}
	scopes, err := normaliseScopes("scopes", in.Scopes)
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		return nil, invalid("scopes", "required", "choose at least one scope")
	}
	if err := mayGrant(p, "scopes", scopes); err != nil {
		return nil, err
	}
	expires := now.AddDate(0, 0, in.ExpiresInDays)
	var parent *string
	if p.Kind == app.PrincipalToken {
		// A token minting a token is a child that lives no longer than its parent, and the
		// foreign key on parent_id takes it along when the parent is revoked.
		if !p.Can(scopeTokensWrite) {
			return nil, errTokenNeedsScope
		}
		var parentExpires time.Time
		if err := tx.QueryRow(ctx, `SELECT expires_at FROM api_tokens WHERE id = $1`, p.ID).Scan(&parentExpires); err != nil {
			return nil, err
		}
		if parentExpires.Before(expires) {
			expires = parentExpires
		}
		parent = &p.ID
	}
	secret, lookup, hash := app.NewCredential(TokenPrefix)
	id := uuid.NewString()
	_, err = tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, lookup, secret_hash, scopes, created_at, expires_at, parent_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, p.UserID, in.Name, lookup, hash, scopes, now, expires, parent)
	if err != nil {
		return nil, err
	}
	t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	return &NewToken{Token: *t, Secret: secret}, nil
}

// deleteToken revokes one of the user's tokens and, through parent_id, every token minted
// from it; it returns the token and the ids of the descendants that went with it. A token
// may revoke itself, and others only with tokens:write.
func deleteToken(ctx context.Context, tx pgx.Tx, p *app.Principal, id string) (*Token, []string, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, app.NotFound("token")
	}
	if p.Kind == app.PrincipalToken && p.ID != id && !p.Can(scopeTokensWrite) {
		return nil, nil, errTokenNeedsScope
	}
	t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 AND user_id = $2`, id, p.UserID))
	if err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `
		WITH RECURSIVE below AS (
			SELECT id FROM api_tokens WHERE parent_id = $1
			UNION SELECT a.id FROM api_tokens a JOIN below ON a.parent_id = below.id)
		SELECT id::text FROM below ORDER BY id`, id)
	children, err := app.Collect(rows, err, func(row pgx.Row) (string, error) {
		var s string
		return s, row.Scan(&s)
	})
	if err != nil {
		return nil, nil, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	return t, children, err
}

// tokenPrincipal checks a bearer token and returns who it acts as. The token's scopes are cut
// down to what its user holds now, so taking a role from a user also takes it from their tokens.
func tokenPrincipal(ctx context.Context, db app.Querier, clock app.Clock, bearer string) (*app.Principal, error) {
	lookup, presented, ok := app.ParseCredential(TokenPrefix, bearer)
	if !ok {
		return nil, app.Unauthorized("invalid_token", "the bearer token is not a mipo API token")
	}
	var id, name, userID string
	var hash []byte
	var scopes []string
	var expires time.Time
	var lastUsed *time.Time
	err := db.QueryRow(ctx, `SELECT id, name, user_id, secret_hash, scopes, expires_at, last_used_at FROM api_tokens WHERE lookup = $1`, lookup).
		Scan(&id, &name, &userID, &hash, &scopes, &expires, &lastUsed)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !app.CredentialMatches(hash, presented)) {
		return nil, app.Unauthorized("invalid_token", "the API token is unknown or revoked")
	}
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	if !now.Before(expires) {
		return nil, app.Unauthorized("token_expired", "the API token expired at "+expires.UTC().Format(time.RFC3339))
	}
	user, err := userPrincipal(ctx, db, userID)
	if err != nil {
		return nil, err
	}
	p := &app.Principal{Kind: app.PrincipalToken, ID: id, UserID: userID, Name: user.Name + " (token " + name + ")", Scopes: map[string]bool{}}
	for _, s := range scopes {
		if user.Can(s) {
			p.Scopes[s] = true
		}
	}
	if lastUsed == nil || now.Sub(*lastUsed) > time.Minute {
		db.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, now)
	}
	return p, nil
}
