package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// lockID serialises writers of the chain: each record needs the hash of the one before it.
// The lock is held only until the writing transaction ends.
const lockID = 0x61756474 // "audt"

// Record writes an entry in tx, the transaction of the change it describes. If tx is the
// request's change, the change is marked audited and may commit.
func Record(ctx context.Context, tx pgx.Tx, e Entry) error {
	if e.Action == "" {
		return errors.New("audit: entry without an action")
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	actor := actorOf(ctx)
	if e.Actor != nil {
		actor = *e.Actor
	}
	meta := app.RequestMetaFrom(ctx)
	diff, err := cleanJSON(nonNil(auditapi.Diff(e.Before, e.After)))
	if err != nil {
		return fmt.Errorf("audit diff: %w", err)
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	detail, err := cleanJSON(e.Detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID); err != nil {
		return err
	}
	var prev []byte
	if err := tx.QueryRow(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&prev); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if prev == nil {
		prev = []byte{}
	}
	var id int64
	if err := tx.QueryRow(ctx, `SELECT nextval('audit_log_id_seq')`).Scan(&id); err != nil {
		return err
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	ua, ip := app.Truncate(meta.UserAgent, 512), app.Truncate(meta.RemoteIP, 64)
	name := e.Name()
	hash, err := computeHash(app.AuditKeyFrom(ctx), prev, id, at, actor, ip, ua, meta.RequestID, e.Action, e.ResourceType, e.ResourceID, name, e.Outcome, diff, detail)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (`+columns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
		id, at, actor.Kind, actor.ID, actor.Name, ip, ua, meta.RequestID, e.Action, e.ResourceType, e.ResourceID, name, e.Outcome, diff, detail, prev, hash)
	if err != nil {
		return fmt.Errorf("writing the audit record: %w", err)
	}
	if ch := app.ChangeFrom(ctx); ch != nil && ch.Tx == tx {
		ch.MarkAudited()
		ch.AfterCommit(func(context.Context) { wrote() })
	}
	return nil
}

// RecordNow writes an entry in its own transaction: for what is not a change of state (a
// sensitive read) or must be kept although the request fails (a refused sign-in).
func RecordNow(ctx context.Context, pool app.ConfigDB, e Entry) error {
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return Record(ctx, tx, e) }); err != nil {
		return err
	}
	wrote()
	return nil
}

func actorOf(ctx context.Context) Actor {
	p := app.PrincipalFrom(ctx)
	if p == nil {
		return Actor{Kind: "anonymous"}
	}
	return Actor{Kind: p.Kind, ID: p.ID, Name: p.Name}
}

func nonNil(d []FieldChange) []FieldChange {
	if d == nil {
		return []FieldChange{}
	}
	return d
}
