package results

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Observations are partitioned by UTC week (sql/results/00100). The runtime role cannot create
// or drop tables; the two owner-rights functions of that migration are all it may do to
// partitions, and these are their Go faces.

// PartitionsAhead is how far ahead of now the partitions job keeps weeks ready, so a week's
// partition exists long before its first result: results never wait on a CREATE TABLE, and a
// job that fails to run for a few weeks costs nothing (the default partition catches the rest).
const PartitionsAhead = 4 * 7 * 24 * time.Hour

// EnsurePartitions creates the weekly partitions covering [from, to) that do not exist yet,
// moving rows of those weeks out of the default partition, and returns the ones it made.
// On a TimescaleDB hypertable it does nothing.
func EnsurePartitions(ctx context.Context, pool app.ResultsDB, from, to time.Time) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT observations_partitions_ensure($1, $2)`, from, to)
	return collectNames(rows, err)
}

// DropPartitionsBefore drops every weekly partition that ends at or before cutoff (and deletes
// the default partition's rows older than it), returning the partitions dropped, and the key
// sets of the scans that had observations older than cutoff: a diff of such a scan reads what
// is left of it; both in one transaction.
func DropPartitionsBefore(ctx context.Context, pool app.ResultsDB, cutoff time.Time) (dropped []string, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT observations_partitions_drop($1)`, cutoff)
		if dropped, err = collectNames(rows, err); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM scan_key_sets WHERE first_observed < $1`, cutoff)
		return err
	})
	return dropped, err
}

func collectNames(rows pgx.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if names == nil {
		names = []string{}
	}
	return names, err
}

// Partition is one partition of observations and its bounds (zero for the default partition).
type Partition struct {
	Name     string
	From, To time.Time
}

// Partitions lists the partitions of observations, oldest first, the default partition last.
func Partitions(ctx context.Context, pool app.ResultsDB) ([]Partition, error) {
	rows, err := pool.Query(ctx, `SELECT c.relname,
			(regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1],
			(regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'observations'::regclass ORDER BY 2 NULLS LAST, 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Partition, error) {
		var p Partition
		var from, to *string
		if err := row.Scan(&p.Name, &from, &to); err != nil {
			return p, err
		}
		// pg_get_expr writes bounds in the session's time zone, with its offset.
		for _, b := range []struct {
			s *string
			t *time.Time
		}{{from, &p.From}, {to, &p.To}} {
			if b.s == nil {
				continue
			}
			t, err := time.Parse("2006-01-02 15:04:05-07", *b.s)
			if err != nil {
				if t, err = time.Parse("2006-01-02 15:04:05-07:00", *b.s); err != nil {
					return p, err
				}
			}
			*b.t = t.UTC()
		}
		return p, nil
	})
}
