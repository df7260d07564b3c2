package audit

import (
	"context"
	"time"

	"mipo/app"
)

// Touching returns, oldest first, the records about any of the given resources (by id) made
// in [from, to): what an evidence pack carries about a scope. The records keep their hashes, so
// whoever holds them can check each against the chain.
func Touching(ctx context.Context, db app.Querier, resourceIDs []string, from, to time.Time) ([]*AuditRecord, error) {
	rows, err := db.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE resource_id = ANY($1) AND at >= $2 AND at < $3 ORDER BY id`,
		resourceIDs, from, to)
	raws, err := app.Collect(rows, err, scanRecord)
	if err != nil {
		return nil, err
	}
	out := make([]*AuditRecord, len(raws))
	for i, r := range raws {
		out[i] = r.decode()
	}
	return out, nil
}
