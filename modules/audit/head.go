package audit

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ReadHead reads the head in the caller's snapshot (a backup's REPEATABLE READ transaction, or
// a restore's fresh schema through its search_path).
func ReadHead(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (Head, error) {
	var h Head
	err := db.QueryRow(ctx, `SELECT count(*), coalesce(max(id), 0),
		coalesce((SELECT encode(hash, 'hex') FROM audit_log ORDER BY id DESC LIMIT 1), '') FROM audit_log`).Scan(&h.Count, &h.LastID, &h.Hash)
	return h, err
}
