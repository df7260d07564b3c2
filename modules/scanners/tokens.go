package scanners

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// ProvisioningToken is a provisioning token as listed: never its secret.
type ProvisioningToken struct {
	ID        string     `json:"id"`
	Prefix    string     `json:"prefix" doc:"mpt_ and the token's public lookup part."`
	Name      string     `json:"name" doc:"The name the scanner gets; empty: its host name."`
	GroupIDs  []string   `json:"group_ids"`
	Binding   string     `json:"binding" doc:"The binding the scanner gets; empty: the address it registers from."`
	Status    string     `json:"status" doc:"pending, used, expired or revoked."`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at"`
	UsedFrom  string     `json:"used_from"`
	ScannerID *string    `json:"scanner_id"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// CreateToken is the body of POST /api/v1/scanners/tokens.
type CreateToken struct {
	Name             string   `json:"name" doc:"Name for the scanner; empty: the host name it registers with."`
	GroupIDs         []string `json:"group_ids" doc:"Scanner groups it joins."`
	Binding          string   `json:"binding" doc:"An address, a CIDR or an ASN; empty: bind it to the address it registers from."`
	ExpiresInMinutes int      `json:"expires_in_minutes" doc:"5 to 1440 (a day); 0: 60."`
}

// Token lifetimes, in minutes.
const (
	defaultTokenMinutes = 60
	minTokenMinutes     = 5
	maxTokenMinutes     = 24 * 60
)

const tokenColumns = `id, lookup, name, group_ids::text[], binding, created_by, created_at, expires_at, used_at, used_from, scanner_id, revoked_at`

func scanToken(row pgx.Row, now time.Time) (*ProvisioningToken, error) {
	t := &ProvisioningToken{}
	var lookup string
	err := row.Scan(&t.ID, &lookup, &t.Name, &t.GroupIDs, &t.Binding, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt, &t.UsedFrom, &t.ScannerID, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("provisioning token")
	}
	if err != nil {
		return nil, err
	}
	t.Prefix = app.CredentialPrefixOf(TokenPrefix, lookup)
	switch {
	case t.UsedAt != nil:
		t.Status = "used"
	case t.RevokedAt != nil:
		t.Status = "revoked"
	case !now.Before(t.ExpiresAt):
		t.Status = "expired"
	default:
		t.Status = "pending"
	}
	return t, nil
}

// createToken makes a provisioning token; the secret is returned once.
func createToken(ctx context.Context, tx pgx.Tx, in CreateToken, asn *ASNDatabase, createdBy string, now time.Time) (*ProvisioningToken, string, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name != "" {
		if err := validateName("name", in.Name); err != nil {
			return nil, "", err
		}
		if err := nameFree(ctx, tx, in.Name, ""); err != nil {
			return nil, "", err
		}
	}
	binding := ""
	if strings.TrimSpace(in.Binding) != "" {
		b, err := checkBinding("binding", in.Binding, asn)
		if err != nil {
			return nil, "", err
		}
		binding = b.String()
	}
	minutes := in.ExpiresInMinutes
	if minutes == 0 {
		minutes = defaultTokenMinutes
	}
	if minutes < minTokenMinutes || minutes > maxTokenMinutes {
		return nil, "", app.Invalid("expires_in_minutes", "invalid_expiry",
			fmt.Sprintf("a provisioning token lives %d to %d minutes (a day)", minTokenMinutes, maxTokenMinutes))
	}
	groups, err := checkGroupIDs(ctx, tx, "group_ids", in.GroupIDs)
	if err != nil {
		return nil, "", err
	}
	secret, lookup, hash := app.NewCredential(TokenPrefix)
	id := uuid.NewString()
	_, err = tx.Exec(ctx, `INSERT INTO scanner_tokens (id, lookup, secret_hash, name, group_ids, binding, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, lookup, hash, in.Name, groups, binding, createdBy, now,
		now.Add(time.Duration(minutes)*time.Minute))
	if err != nil {
		return nil, "", err
	}
	t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM scanner_tokens WHERE id = $1`, id), now)
	return t, secret, err
}

// TokenQuery filters the token list.
type TokenQuery struct {
	app.ListQuery
	Status string `query:"status" json:"status,omitempty" doc:"pending, used, expired or revoked."`
}

func listTokens(ctx context.Context, db app.Querier, l app.List, status string, now time.Time) (app.Page[*ProvisioningToken], error) {
	cond := "TRUE"
	switch status {
	case "":
	case "pending":
		cond = "used_at IS NULL AND revoked_at IS NULL AND expires_at > $3"
	case "used":
		cond = "used_at IS NOT NULL"
	case "expired":
		cond = "used_at IS NULL AND revoked_at IS NULL AND expires_at <= $3"
	case "revoked":
		cond = "used_at IS NULL AND revoked_at IS NOT NULL"
	default:
		return app.Page[*ProvisioningToken]{}, app.Invalid("status", "invalid_status", "status must be pending, used, expired or revoked")
	}
	rows, err := db.Query(ctx, `SELECT `+tokenColumns+` FROM scanner_tokens WHERE `+cond+` AND $3::timestamptz IS NOT NULL
		ORDER BY `+l.Sort+` `+l.Direction()+`, id LIMIT $1 OFFSET $2`, l.Limit+1, l.Offset, now)
	out, err := app.Collect(rows, err, func(r pgx.Row) (*ProvisioningToken, error) { return scanToken(r, now) })
	if err != nil {
		return app.Page[*ProvisioningToken]{}, err
	}
	return app.Paginate(l, out), nil
}

// revokeToken makes an unused token unusable.
func revokeToken(ctx context.Context, tx pgx.Tx, id string, now time.Time) (before, after *ProvisioningToken, err error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, app.NotFound("provisioning token")
	}
	if before, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM scanner_tokens WHERE id = $1 FOR UPDATE`, id), now); err != nil {
		return nil, nil, err
	}
	if before.UsedAt != nil {
		return nil, nil, app.Conflict("token_used", "this token was already used to register a scanner; disable the scanner instead")
	}
	if before.RevokedAt == nil {
		if _, err := tx.Exec(ctx, `UPDATE scanner_tokens SET revoked_at = $2 WHERE id = $1`, id, now); err != nil {
			return nil, nil, err
		}
	}
	after, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM scanner_tokens WHERE id = $1`, id), now)
	return before, after, err
}

// Registration is what a scanner sends to register.
type Registration struct {
	Token    string
	Hostname string
	Version  string
	Capacity Capacity
	Source   netip.Addr
}

// Registered is a new scanner and its API key, shown this once.
type Registered struct {
	Scanner *Scanner
	APIKey  string
}

// Register exchanges a provisioning token for a new scanner and its permanent API key, in one
// config-database transaction with its audit record: the token is used at most once, even when
// several ingest nodes receive it at the same moment. A used, expired, revoked or unknown token
// is a *Refusal with code invalid_token; a source outside the token's binding, binding_mismatch.
func Register(ctx context.Context, pool app.ConfigDB, asn *ASNDatabase, r Registration, now time.Time) (*Registered, error) {
	var out *Registered
	err := app.InTx(ctx, pool, func(ctx context.Context, ch *app.Change) error {
		var err error
		out, err = register(ctx, ch.Tx, asn, r, now)
		return err
	})
	return out, err
}

func register(ctx context.Context, tx pgx.Tx, asn *ASNDatabase, r Registration, now time.Time) (*Registered, error) {
	src := r.Source.Unmap()
	refuse := func(msg string) error {
		return &Refusal{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: msg, Source: src.String()}
	}
	lookup, presented, ok := app.ParseCredential(TokenPrefix, r.Token)
	if !ok {
		return nil, refuse("the provisioning token is not one mipo made (mpt_…); create one under Scanners → Add scanner")
	}
	var id, name, binding string
	var groups []string
	var hash []byte
	var expires time.Time
	var used, revoked *time.Time
	err := tx.QueryRow(ctx, `SELECT id, name, group_ids::text[], binding, secret_hash, expires_at, used_at, revoked_at
		FROM scanner_tokens WHERE lookup = $1 FOR UPDATE`, lookup).Scan(&id, &name, &groups, &binding, &hash, &expires, &used, &revoked)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !app.CredentialMatches(hash, presented) {
		return nil, refuse("the provisioning token is unknown")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case used != nil:
		return nil, refuse("the provisioning token was already used (at " + used.UTC().Format(time.RFC3339) + "); a token works once: create a new one")
	case revoked != nil:
		return nil, refuse("the provisioning token was revoked; create a new one")
	case !now.Before(expires):
		return nil, refuse("the provisioning token expired at " + expires.UTC().Format(time.RFC3339) + "; create a new one")
	}
	b := BindingFor(src)
	if binding != "" {
		if b, err = ParseBinding("binding", binding); err != nil {
			return nil, err
		}
		allowed, err := b.Allows(src, asn)
		if err != nil {
			return nil, &Refusal{Status: http.StatusForbidden, Code: CodeBindingUnverifiable, Source: src.String(),
				Message: fmt.Sprintf("the token binds the scanner to %s, which cannot be checked here: %v", b, err)}
		}
		if !allowed {
			return nil, &Refusal{Status: http.StatusForbidden, Code: CodeBindingMismatch, Source: src.String(),
				Message: fmt.Sprintf("source address %s is outside the binding %s this token gives", src, b)}
		}
	}
	hostname := cleanHostname(r.Hostname)
	if name == "" {
		if name, err = freeName(ctx, tx, hostname); err != nil {
			return nil, err
		}
	}
	key, keyLookup, keyHash := app.NewCredential(KeyPrefix)
	scannerID := uuid.NewString()
	capacity, err := jsonOf(r.Capacity)
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO scanners (id, name, hostname, version, key_lookup, key_hash, key_created_at, binding,
		online, registered_at, registered_from, last_seen_at, last_address, capacity, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $7, $9, $7, $9, $10, $7)`,
		scannerID, name, hostname, app.Truncate(r.Version, 64), keyLookup, keyHash, now, b.String(), src.String(), capacity)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO scanner_group_members (group_id, scanner_id)
		SELECT g.id, $2 FROM scanner_groups g WHERE g.id = ANY ($1::uuid[])`, groups, scannerID); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE scanner_tokens SET used_at = $2, used_from = $3, scanner_id = $4 WHERE id = $1`,
		id, now, src.String(), scannerID); err != nil {
		return nil, err
	}
	if err := addConnection(ctx, tx, scannerID, now, "registered", src.String(), ""); err != nil {
		return nil, err
	}
	s, err := Get(ctx, tx, scannerID)
	if err != nil {
		return nil, err
	}
	err = auditapi.Record(ctx, tx, auditapi.Entry{Action: "scanner.register", ResourceType: "scanner", ResourceID: s.ID, After: s,
		Actor:  &auditapi.Actor{Kind: app.PrincipalScanner, ID: s.ID, Name: s.Name},
		Detail: map[string]any{"provisioning_token": id, "source": src.String(), "key_prefix": s.KeyPrefix}})
	if err != nil {
		return nil, err
	}
	return &Registered{Scanner: s, APIKey: key}, nil
}

// cleanHostname keeps a reported host name to printable text of a sane length.
func cleanHostname(h string) string {
	h = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(h))
	return app.Truncate(h, 64)
}

// freeName is the host name, or host name-2, -3 … when another scanner is called that.
func freeName(ctx context.Context, db app.Querier, hostname string) (string, error) {
	base := hostname
	if base == "" {
		base = "scanner"
	}
	base = app.Truncate(base, 56)
	name := base
	for i := 2; ; i++ {
		var taken bool
		if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scanners WHERE lower(name) = lower($1))`, name).Scan(&taken); err != nil {
			return "", err
		}
		if !taken {
			return name, nil
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}
