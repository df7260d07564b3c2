package tls

import (
	"context"
	"errors"
	"mipo/app"
	"time"

	"github.com/jackc/pgx/v5"
)

// row is a stored certificate; the key stays sealed until it is served.
type row struct {
	ID             string
	Source         string
	ChainPEM       string
	KeySealed      string
	NotAfter       time.Time
	Active         bool
	CreatedAt      time.Time
	WarnedExpiring bool
	WarnedExpired  bool
}

const rowColumns = `id, source, chain_pem, key_sealed, not_after, active, created_at, warned_expiring, warned_expired`

func scanRow(r pgx.Row) (*row, error) {
	var x row
	err := r.Scan(&x.ID, &x.Source, &x.ChainPEM, &x.KeySealed, &x.NotAfter, &x.Active, &x.CreatedAt, &x.WarnedExpiring, &x.WarnedExpired)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &x, err
}

// activeRow returns the certificate being served, or nil when none is stored yet.
func activeRow(ctx context.Context, db app.Querier) (*row, error) {
	return scanRow(db.QueryRow(ctx, `SELECT `+rowColumns+` FROM tls_certificates WHERE active`))
}

// lastSelfSigned returns the newest self-signed certificate, whose key a new self-signed one
// reuses so scanner pins stay valid.
func lastSelfSigned(ctx context.Context, db app.Querier) (*row, error) {
	return scanRow(db.QueryRow(ctx, `SELECT `+rowColumns+` FROM tls_certificates WHERE source = 'self-signed' ORDER BY created_at DESC LIMIT 1`))
}

func recentRows(ctx context.Context, db app.Querier, limit int) ([]*row, error) {
	rows, err := db.Query(ctx, `SELECT `+rowColumns+` FROM tls_certificates ORDER BY created_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// insertActive stores a certificate and makes it the one served, in tx.
func insertActive(ctx context.Context, tx pgx.Tx, r *row, serial, pin string) error {
	if _, err := tx.Exec(ctx, `UPDATE tls_certificates SET active = false WHERE active`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO tls_certificates (id, source, chain_pem, key_sealed, serial, pin, not_after, active, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8)`, r.ID, r.Source, r.ChainPEM, r.KeySealed, serial, pin, r.NotAfter, r.CreatedAt)
	return err
}

// markWarned records that an expiry event was sent for a certificate. It reports false when
// another process sent it first.
func markWarned(ctx context.Context, tx pgx.Tx, id string, expired bool) (bool, error) {
	col := "warned_expiring"
	if expired {
		col = "warned_expired"
	}
	tag, err := tx.Exec(ctx, `UPDATE tls_certificates SET `+col+` = true WHERE id = $1 AND NOT `+col, id)
	return tag.RowsAffected() == 1, err
}
