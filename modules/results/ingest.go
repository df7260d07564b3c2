package results

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// sharedJobSQL lists what a job already stored, across its attempts; the time bound keeps the
// query to the partitions since the job began.
const sharedJobSQL = `SELECT address, port FROM observations WHERE scan_id = $1 AND job_id = $2 AND observed_at >= $3`

// skipShared drops the observations another attempt of the job stored. The job's lock
// serialises two holders' batches, so neither misses the other's.
func skipShared(ctx context.Context, tx pgx.Tx, b *Batch) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, b.JobID); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, sharedJobSQL, b.ScanID, b.JobID, b.SharedSince)
	if err != nil {
		return err
	}
	have := map[netip.AddrPort]bool{}
	var a netip.Addr
	var port int32
	if _, err := pgx.ForEachRow(rows, []any{&a, &port}, func() error {
		have[netip.AddrPortFrom(a.Unmap(), uint16(port))] = true
		return nil
	}); err != nil {
		return err
	}
	kept := make([]Observation, 0, len(b.Observations))
	for _, o := range b.Observations {
		if !have[netip.AddrPortFrom(o.Address, o.Port)] {
			kept = append(kept, o)
		}
	}
	b.Observations = kept
	return nil
}

// Insert stores a batch exactly once. The batch's ledger row and its observations go in one
// transaction; a batch that arrives again (a scanner re-sending after an outage) finds its
// row and changes nothing, and duplicate is true.
func Insert(ctx context.Context, pool app.ResultsDB, b Batch, now time.Time) (duplicate bool, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if !b.SharedSince.IsZero() {
			if err := skipShared(ctx, tx, &b); err != nil {
				return err
			}
		}
		if b.Attempt > 0 { // a batch stored before batches had attempts (attempt 0) counts for any
			var legacy bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM result_batches WHERE job_id = $1 AND attempt = 0 AND batch = $2)`,
				b.JobID, b.Seq).Scan(&legacy); err != nil || legacy {
				duplicate = legacy
				return err
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO result_batches (job_id, attempt, batch, scan_id, scanner_id, results, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, b.JobID, b.Attempt, b.Seq, b.ScanID, b.ScannerID, len(b.Observations), now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			duplicate = true
			return nil
		}
		if len(b.Observations) == 0 {
			return nil
		}
		sql, data, err := CopyObservations(b)
		if err != nil {
			return err
		}
		_, err = tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), sql)
		return err
	})
	return duplicate, err
}

const receivedBatchesSQL = `SELECT DISTINCT batch FROM result_batches WHERE job_id = $1 AND attempt IN ($2, 0) ORDER BY batch`

// ReceivedBatches lists the batch numbers stored for one attempt of a job (with those stored
// before batches had attempts).
func ReceivedBatches(ctx context.Context, pool app.ResultsDB, jobID string, attempt int) ([]int, error) {
	rows, err := pool.Query(ctx, receivedBatchesSQL, jobID, attempt)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// MissingBatches returns which of batches 1..n of an attempt of a job have not arrived.
func MissingBatches(ctx context.Context, pool app.ResultsDB, jobID string, attempt, n int) ([]int, error) {
	got, err := ReceivedBatches(ctx, pool, jobID, attempt)
	if err != nil {
		return nil, err
	}
	have := map[int]bool{}
	for _, b := range got {
		have[b] = true
	}
	missing := []int{}
	for i := 1; i <= n; i++ {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	return missing, nil
}

// RecordCoverage stores what a job covered, once; a repeated completion changes nothing.
func RecordCoverage(ctx context.Context, pool app.ResultsDB, c Coverage) error {
	targets, err := json.Marshal(c.Targets)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `INSERT INTO job_coverage (job_id, scan_id, scanner_id, targets, ports, status, completed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id) DO NOTHING`,
		c.JobID, c.ScanID, c.ScannerID, targets, c.Ports.String(), c.Status, c.CompletedAt)
	return err
}
