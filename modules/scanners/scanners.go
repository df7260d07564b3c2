package scanners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// KeyPrefix starts every scanner API key; TokenPrefix every provisioning token.
const (
	KeyPrefix   = "msk"
	TokenPrefix = "mpt"
)

// Statuses of a scanner as the API shows them.
const (
	StatusOnline   = "online"
	StatusOffline  = "offline"
	StatusDisabled = "disabled"
)

// OfflineAfter is how long a scanner may stay silent before it is marked offline: two missed
// heartbeats of 60 seconds.
const OfflineAfter = 2 * time.Minute

// ErrNotFound is the answer for a scanner id that does not exist.
var ErrNotFound = app.NotFound("scanner")

const scannerColumns = `s.id, s.name, s.hostname, s.version, s.online, s.disabled, s.disabled_at, s.binding, s.key_lookup,
	s.key_created_at, s.registered_at, s.registered_from, s.last_seen_at, s.last_address, s.capacity, s.metrics, s.active_jobs,
	s.updated_at,
	COALESCE((SELECT json_agg(json_build_object('id', g.id, 'name', g.name) ORDER BY lower(g.name))
		FROM scanner_group_members m JOIN scanner_groups g ON g.id = m.group_id WHERE m.scanner_id = s.id), '[]')`

func scanScanner(row pgx.Row) (*Scanner, error) {
	s := &Scanner{ActiveJobs: []string{}}
	var lookup string
	var capacity, metrics, groups []byte
	err := row.Scan(&s.ID, &s.Name, &s.Hostname, &s.Version, &s.Online, &s.Disabled, &s.DisabledAt, &s.Binding, &lookup,
		&s.KeyCreatedAt, &s.RegisteredAt, &s.RegisteredFrom, &s.LastSeenAt, &s.LastAddress, &capacity, &metrics, &s.ActiveJobCount,
		&s.UpdatedAt, &groups)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.KeyPrefix = app.CredentialPrefixOf(KeyPrefix, lookup)
	if err := json.Unmarshal(capacity, &s.Capacity); err != nil {
		return nil, fmt.Errorf("scanner %s capacity: %w", s.ID, err)
	}
	if metrics != nil {
		s.Metrics = &Metrics{}
		if err := json.Unmarshal(metrics, s.Metrics); err != nil {
			return nil, fmt.Errorf("scanner %s metrics: %w", s.ID, err)
		}
	}
	if err := json.Unmarshal(groups, &s.Groups); err != nil {
		return nil, fmt.Errorf("scanner %s groups: %w", s.ID, err)
	}
	s.Status = status(s.Online, s.Disabled)
	return s, nil
}

func status(online, disabled bool) string {
	switch {
	case disabled:
		return StatusDisabled
	case online:
		return StatusOnline
	default:
		return StatusOffline
	}
}

func scanScanners(rows pgx.Rows, err error) ([]*Scanner, error) {
	return app.Collect(rows, err, scanScanner)
}

// Get loads one scanner; ErrNotFound when there is none with that id.
func Get(ctx context.Context, db app.Querier, id string) (*Scanner, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, ErrNotFound
	}
	return scanScanner(db.QueryRow(ctx, `SELECT `+scannerColumns+` FROM scanners s WHERE s.id = $1`, id))
}

// Registrations lists every scanner's registration time, by name.
func Registrations(ctx context.Context, db app.Querier) ([]RegisteredAt, error) {
	rows, err := db.Query(ctx, `SELECT id, name, registered_at FROM scanners ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RegisteredAt
	for rows.Next() {
		var r RegisteredAt
		if err := rows.Scan(&r.ID, &r.Name, &r.RegisteredAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Healthy returns the scanners among ids that may be given work now: enabled and online, each
// with the capacity its last heartbeat reported. nil ids means every scanner. The order is by
// name.
func Healthy(ctx context.Context, db app.Querier, ids []string) ([]Scanner, error) {
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("scanner id %q is not a UUID", id)
		}
	}
	list, err := scanScanners(db.Query(ctx, `SELECT `+scannerColumns+` FROM scanners s
		WHERE s.online AND NOT s.disabled AND ($1::uuid[] IS NULL OR s.id = ANY ($1))
		ORDER BY lower(s.name)`, ids))
	if err != nil {
		return nil, err
	}
	out := make([]Scanner, len(list))
	for i, s := range list {
		out[i] = *s
	}
	return out, nil
}

// ListQuery holds the filters of the scanner list.
type ListQuery struct {
	app.ListQuery
	Status string `query:"status" json:"status,omitempty" doc:"online, offline or disabled."`
	Group  string `query:"group" json:"group,omitempty" doc:"A scanner group's id."`
	Q      string `query:"q" json:"q,omitempty" doc:"Text in the name, host name or binding."`
}

var scannerSorts = []string{"name", "status", "last_seen_at", "version", "registered_at"}

var sortColumns = map[string]string{
	"name": "lower(s.name)", "status": "(CASE WHEN s.disabled THEN 2 WHEN s.online THEN 0 ELSE 1 END)",
	"last_seen_at": "s.last_seen_at", "version": "s.version", "registered_at": "s.registered_at",
}

func list(ctx context.Context, db app.Querier, l app.List, q ListQuery) (app.Page[*Scanner], error) {
	w := &app.Where{}
	switch q.Status {
	case "":
	case StatusOnline:
		w.Add("s.online AND NOT s.disabled")
	case StatusOffline:
		w.Add("NOT s.online AND NOT s.disabled")
	case StatusDisabled:
		w.Add("s.disabled")
	default:
		return app.Page[*Scanner]{}, app.Invalid("status", "invalid_status", "status must be online, offline or disabled")
	}
	if q.Group != "" {
		if _, err := uuid.Parse(q.Group); err != nil {
			return app.Page[*Scanner]{}, app.Invalid("group", "invalid_group", "group must be a scanner group's id")
		}
		w.Add("EXISTS (SELECT 1 FROM scanner_group_members m WHERE m.scanner_id = s.id AND m.group_id = " + w.Arg(q.Group) + ")")
	}
	if q.Q != "" {
		p := w.Arg(app.Contains(q.Q))
		w.Add("(s.name ILIKE " + p + " OR s.hostname ILIKE " + p + " OR s.binding ILIKE " + p + ")")
	}
	order := sortColumns[l.Sort] + " " + l.Direction() + " NULLS LAST, lower(s.name), s.id"
	rows, err := scanScanners(db.Query(ctx, `SELECT `+scannerColumns+` FROM scanners s WHERE `+w.SQL()+
		` ORDER BY `+order+` LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...))
	if err != nil {
		return app.Page[*Scanner]{}, err
	}
	return app.Paginate(l, rows), nil
}

// validateName checks a scanner's or group's name: 1 to 64 printable characters.
func validateName(field, name string) error {
	switch {
	case name == "":
		return app.Invalid(field, "required", field+" must not be empty")
	case len(name) > 64:
		return app.Invalid(field, "too_long", field+" is at most 64 characters")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return app.Invalid(field, "invalid_name", field+" must hold printable characters only")
		}
	}
	return nil
}

func validateText(field, v string, max int) error {
	if len(v) > max {
		return app.Invalid(field, "too_long", fmt.Sprintf("%s is at most %d characters", field, max))
	}
	for _, r := range v {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' {
			return app.Invalid(field, "invalid_text", field+" must hold printable characters only")
		}
	}
	return nil
}

// Update is the body of PATCH /api/v1/scanners/{id}; absent fields are left as they are.
type Update struct {
	Name     *string   `json:"name,omitempty"`
	Binding  *string   `json:"binding,omitempty" doc:"An address, a CIDR or an ASN (AS64500, needs MIPO_ASN_DATABASE)."`
	GroupIDs *[]string `json:"group_ids,omitempty" doc:"The scanner groups it belongs to (replaces the list)."`
}

// update changes a scanner in tx and returns it before and after.
func update(ctx context.Context, tx pgx.Tx, id string, in Update, asn *ASNDatabase, now time.Time) (before, after *Scanner, err error) {
	if before, err = lockScanner(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if err := validateName("name", name); err != nil {
			return nil, nil, err
		}
		if err := nameFree(ctx, tx, name, id); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE scanners SET name = $2, updated_at = $3 WHERE id = $1`, id, name, now); err != nil {
			return nil, nil, err
		}
	}
	if in.Binding != nil {
		b, err := checkBinding("binding", *in.Binding, asn)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE scanners SET binding = $2, updated_at = $3 WHERE id = $1`, id, b.String(), now); err != nil {
			return nil, nil, err
		}
	}
	if in.GroupIDs != nil {
		ids, err := checkGroupIDs(ctx, tx, "group_ids", *in.GroupIDs)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scanner_group_members WHERE scanner_id = $1`, id); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO scanner_group_members (group_id, scanner_id) SELECT unnest($2::uuid[]), $1`, id, ids); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE scanners SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return nil, nil, err
		}
	}
	after, err = Get(ctx, tx, id)
	return before, after, err
}

// checkBinding parses a binding and, for an ASN, requires the ASN database that checks it.
func checkBinding(field, text string, asn *ASNDatabase) (Binding, error) {
	b, err := ParseBinding(field, text)
	if err != nil {
		return b, err
	}
	if b.IsASN() && asn == nil {
		return b, app.Invalid(field, "asn_database_missing",
			"an ASN binding needs the ASN database: set MIPO_ASN_DATABASE to a MaxMind-format ASN file (such as GeoLite2-ASN.mmdb) on the manager and every ingest node, or bind to an address or CIDR")
	}
	return b, nil
}

func nameFree(ctx context.Context, db app.Querier, name, exceptID string) error {
	var taken bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scanners WHERE lower(name) = lower($1) AND id::text <> $2)`, name, exceptID).Scan(&taken)
	if err != nil {
		return err
	}
	if taken {
		return &app.Error{Status: 409, Code: "name_taken", Message: "another scanner is called " + name, Field: "name"}
	}
	return nil
}

// lockScanner loads a scanner and locks its row for the rest of tx.
func lockScanner(ctx context.Context, tx pgx.Tx, id string) (*Scanner, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, ErrNotFound
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM scanners WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, err
	}
	return Get(ctx, tx, id)
}

// setDisabled disables or enables a scanner. Disabling takes it offline at once (a disabled
// scanner's requests are refused, so it cannot heartbeat) without an offline event: an
// operator's decision is not a fault. Its key, binding and history are kept.
func setDisabled(ctx context.Context, tx pgx.Tx, id string, disabled bool, now time.Time) (before, after *Scanner, err error) {
	if before, err = lockScanner(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	if before.Disabled == disabled {
		return before, before, nil
	}
	event := "enabled"
	if disabled {
		event = "disabled"
		_, err = tx.Exec(ctx, `UPDATE scanners SET disabled = true, disabled_at = $2, online = false, updated_at = $2 WHERE id = $1`, id, now)
	} else {
		_, err = tx.Exec(ctx, `UPDATE scanners SET disabled = false, disabled_at = NULL, updated_at = $2 WHERE id = $1`, id, now)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := addConnection(ctx, tx, id, now, event, "", ""); err != nil {
		return nil, nil, err
	}
	after, err = Get(ctx, tx, id)
	return before, after, err
}

// NewKey is the answer to a key rotation: the only time the new key is shown.
type NewKey struct {
	Scanner Scanner `json:"scanner"`
	APIKey  string  `json:"api_key" doc:"The scanner's new API key, shown once. Put it in the scanner's key file (/etc/mipo-scanner/config.key) and restart it."`
}

// rotateKey gives a scanner a new API key; the old one stops working when tx commits.
func rotateKey(ctx context.Context, tx pgx.Tx, id string, now time.Time) (before *Scanner, out *NewKey, err error) {
	if before, err = lockScanner(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	key, lookup, hash := app.NewCredential(KeyPrefix)
	if _, err := tx.Exec(ctx, `UPDATE scanners SET key_lookup = $2, key_hash = $3, key_created_at = $4, updated_at = $4 WHERE id = $1`,
		id, lookup, hash, now); err != nil {
		return nil, nil, err
	}
	after, err := Get(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	return before, &NewKey{Scanner: *after, APIKey: key}, nil
}

// KeyInfo is what may be seen of a scanner's key: never the secret.
type KeyInfo struct {
	ScannerID string    `json:"scanner_id"`
	Prefix    string    `json:"prefix" doc:"msk_ and the key's public lookup part."`
	CreatedAt time.Time `json:"created_at"`
}

// CountByStatus counts the fleet by status, in one query: what the home page shows.
func CountByStatus(ctx context.Context, db app.Querier) (Counts, error) {
	var c Counts
	err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE online AND NOT disabled), count(*) FILTER (WHERE NOT online AND NOT disabled),
		count(*) FILTER (WHERE disabled) FROM scanners`).Scan(&c.Online, &c.Offline, &c.Disabled)
	return c, err
}
