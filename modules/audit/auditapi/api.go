// Package auditapi is the audit module's contract with the other modules: the types they share
// with it and the calls they may make. It holds no SQL: the audit module fills in the calls from
// its init() (main.go links every module in), so a module that records or reads the audit log
// does not build the audit module's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode).
package auditapi

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
)

// Outcomes of an audited action.
const (
	Success = "success"
	Failure = "failure"
)

// Entry is what a module says about a change or a sensitive read. The actor, time, source
// address and user agent come from the context.
type Entry struct {
	Action       string // "user.create", "session.login", "token.read": resource.verb
	ResourceType string
	ResourceID   string
	// ResourceName is the resource's human name at the time of the change. When empty it is
	// taken from After (or Before, for a deletion): its name, else its username, email or display name.
	ResourceName string
	Outcome      string // Success when empty
	Before       any    // the resource before the change; nil for a creation
	After        any    // the resource after the change; nil for a deletion
	Detail       map[string]any
	Actor        *Actor // overrides the context's principal (a failed sign-in names who tried)
}

// nameKeys are the fields, in order of preference, that name a resource in its JSON form.
var nameKeys = []string{"name", "username", "email", "display_name"}

// Name is the entry's name for its resource, as its record keeps it: given, or read from the
// resource itself (after the change, or before a deletion). At most 200 characters, without
// NULs (text columns cannot hold them).
func (e Entry) Name() string {
	name := e.ResourceName
	for _, v := range []any{e.After, e.Before} {
		if name != "" {
			break
		}
		m := toMap(v)
		for _, k := range nameKeys {
			if s, ok := m[k].(string); ok && strings.TrimSpace(s) != "" {
				name = s
				break
			}
		}
	}
	return app.Truncate(strings.ReplaceAll(strings.TrimSpace(name), "\x00", "\uFFFD"), 200)
}

// Actor is who did something.
type Actor struct {
	Kind string `json:"kind"` // user, token, scanner, system, anonymous
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AuditRecord is one audit log entry as stored and served.
type AuditRecord struct {
	ID           int64          `json:"id"`
	At           time.Time      `json:"at"`
	Actor        Actor          `json:"actor"`
	SourceIP     string         `json:"source_ip"`
	UserAgent    string         `json:"user_agent"`
	RequestID    string         `json:"request_id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	ResourceName string         `json:"resource_name" doc:"The resource's name when the record was written (a user's username, a template's name); empty for records from before names were kept and for resources without one."`
	Outcome      string         `json:"outcome"`
	Diff         []FieldChange  `json:"diff"`
	Detail       map[string]any `json:"detail"`
	PrevHash     string         `json:"prev_hash"`
	Hash         string         `json:"hash"`
}

// Head is the audit log's last record: how many records it holds, the last id and its hash.
// A backup's manifest carries it, so a restore can show the chain came back whole.
type Head struct {
	Count  int64  `json:"count"`
	LastID int64  `json:"last_id"`
	Hash   string `json:"hash"` // hex
}

// Chain is what checking the audit log needs: the log (config database), its checkpoints (jobs
// database), and the key. Anchors are checkpoints kept elsewhere — a backup's manifest, a
// syslog line — checked like those in the jobs database, so a tail cut together with the
// checkpoints that saw it is still caught by a copy the attacker could not reach.
type Chain struct {
	Config  *pgxpool.Pool
	Jobs    *pgxpool.Pool
	Key     []byte
	Anchors []CheckpointRecord
}

// CheckpointRecord says the log held Count records, the last being LastID with hash Head, at
// At. MAC is HMAC-SHA256 of those under the audit key. Anchor marks the first checkpoint of an
// installation, which vouches for the unkeyed records written before the key existed.
type CheckpointRecord struct {
	At     time.Time `json:"at"`
	Count  int64     `json:"count"`
	LastID int64     `json:"last_id"`
	Head   string    `json:"head"` // hex
	Anchor bool      `json:"anchor"`
	MAC    string    `json:"mac"` // hex
}

// Verification is the result of checking the chain.
type Verification struct {
	OK         bool   `json:"ok"`
	Checked    int64  `json:"checked"`
	FirstBadID *int64 `json:"first_bad_id"` // nil when the fault is a missing tail or a checkpoint
	Reason     string `json:"reason,omitempty"`
	// Checkpoint is the newest valid checkpoint the log was checked against.
	Checkpoint *CheckpointRecord `json:"checkpoint,omitempty"`
}

// The calls the audit module answers, filled in by its init().
var (
	// Record writes an entry in tx, the transaction of the change it describes. If tx is the
	// request's change, the change is marked audited and may commit.
	Record func(ctx context.Context, tx pgx.Tx, e Entry) error
	// RecordNow writes an entry in its own transaction: for what is not a change of state (a
	// sensitive read) or must be kept although the request fails (a refused sign-in).
	RecordNow func(ctx context.Context, pool app.ConfigDB, e Entry) error
	// ReadHead reads the head in the caller's snapshot (a backup's REPEATABLE READ transaction,
	// or a restore's fresh schema through its search_path).
	ReadHead func(ctx context.Context, db interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (Head, error)
	// Touching returns, oldest first, the records about any of the given resources (by id)
	// made in [from, to): what an evidence pack carries about a scope. The records keep their
	// hashes, so whoever holds them can check each against the chain.
	Touching func(ctx context.Context, db app.Querier, resourceIDs []string, from, to time.Time) ([]*AuditRecord, error)
	// Verify recomputes the whole chain and holds it against every checkpoint and anchor,
	// naming the first bad record or the missing tail.
	Verify func(ctx context.Context, c Chain) (Verification, error)
	// LatestCheckpoint returns the newest checkpoint, for a backup's manifest to carry (pass
	// it back as one of Chain.Anchors when verifying); nil when there is none yet.
	LatestCheckpoint func(ctx context.Context, jobs *pgxpool.Pool) (*CheckpointRecord, error)
)
