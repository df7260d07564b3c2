package audit

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Rechain recomputes the hash of every record from id on, as an attacker with the database but
// without the key would: unkeyed SHA-256 when key is nil. conn must have the triggers off.
func Rechain(ctx context.Context, conn *pgx.Conn, from int64, key []byte) error {
	var prev []byte
	if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT hash FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT 1), '')`, from).Scan(&prev); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE id >= $1 ORDER BY id`, from)
	if err != nil {
		return err
	}
	var all []*rawRecord
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		h, err := computeHash(key, prev, r.ID, r.At, r.Actor, r.SourceIP, r.UserAgent, r.RequestID, r.Action, r.ResourceType, r.ResourceID, r.ResourceName, r.Outcome, r.diff, r.detail)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3`, prev, h, r.ID); err != nil {
			return err
		}
		prev = h
	}
	return nil
}
