package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/portset"
)

const columns = `id, scan_id, kind, scanner_id, pool, seq, targets, ports, hosts_total, ports_total, rate_limit, concurrency,
	timeout_ms, retries, max_duration_seconds, status, attempts, max_attempts, cancel_requested, leased_at, hosts_done,
	ports_probed, progress_at, batches, error, created_at, finished_at`

func scan(row pgx.Row) (*Job, error) {
	j := &Job{}
	var scanner *string
	var targets []byte
	var ports string
	err := row.Scan(&j.ID, &j.ScanID, &j.Kind, &scanner, &j.Pool, &j.Seq, &targets, &ports, &j.HostsTotal, &j.PortsTotal,
		&j.RateLimit, &j.Concurrency, &j.TimeoutMS, &j.Retries, &j.MaxDurationSeconds, &j.Status, &j.Attempts, &j.MaxAttempts,
		&j.CancelRequested, &j.LeasedAt, &j.HostsDone, &j.PortsProbed, &j.ProgressAt, &j.Batches, &j.Error, &j.CreatedAt, &j.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if scanner != nil {
		j.ScannerID = *scanner
	}
	if err := json.Unmarshal(targets, &j.Targets); err != nil {
		return nil, fmt.Errorf("job %s targets: %w", j.ID, err)
	}
	if j.Ports, err = portset.Parse(ports); err != nil {
		return nil, fmt.Errorf("job %s ports: %w", j.ID, err)
	}
	return j, nil
}

func scanAll(rows pgx.Rows, err error) ([]*Job, error) { return app.Collect(rows, err, scan) }

// Get loads one job.
func Get(ctx context.Context, db app.Querier, id string) (*Job, error) {
	return scan(db.QueryRow(ctx, `SELECT `+columns+` FROM jobs WHERE id = $1`, id))
}

// ListByScan returns a scan's jobs in order.
func ListByScan(ctx context.Context, db app.Querier, scanID string) ([]*Job, error) {
	return scanAll(db.Query(ctx, `SELECT `+columns+` FROM jobs WHERE scan_id = $1 ORDER BY seq, id`, scanID))
}

// ActiveByScanner lists the ids of the jobs each of the given scanners holds now, in one query
// (a fleet page of 500 scanners asks once, not 500 times). Every scanner asked has an entry.
func ActiveByScanner(ctx context.Context, db app.Querier, scannerIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(scannerIDs))
	for _, id := range scannerIDs {
		out[id] = []string{}
	}
	if len(scannerIDs) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT scanner_id::text, id::text FROM jobs WHERE scanner_id = ANY ($1::uuid[])
		AND status IN ('leased', 'running') ORDER BY leased_at, id`, scannerIDs)
	if err != nil {
		return nil, err
	}
	var scanner, job string
	_, err = pgx.ForEachRow(rows, []any{&scanner, &job}, func() error {
		out[scanner] = append(out[scanner], job)
		return nil
	})
	return out, err
}

// ScanCompletion returns, for each of the given scans that has jobs, the percent of its
// connection attempts made so far, in one query.
func ScanCompletion(ctx context.Context, db app.Querier, scanIDs []string) (map[string]float64, error) {
	out := map[string]float64{}
	if len(scanIDs) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT scan_id::text, COALESCE(sum(ports_probed), 0), COALESCE(sum(ports_total), 0)
		FROM jobs WHERE scan_id = ANY ($1::uuid[]) GROUP BY scan_id`, scanIDs)
	if err != nil {
		return nil, err
	}
	var id string
	var probed, total int64
	_, err = pgx.ForEachRow(rows, []any{&id, &probed, &total}, func() error {
		if total > 0 {
			out[id] = min(100, 100*float64(probed)/float64(total))
		}
		return nil
	})
	return out, err
}

// WaitingFor counts, for each of the given scanners, the queued jobs it could have leased that
// were created before a time: a scanner online with such jobs is not picking up work. One
// query for the whole fleet; scanners with none are absent.
func WaitingFor(ctx context.Context, db app.Querier, scannerIDs []string, before time.Time) (map[string]int, error) {
	out := map[string]int{}
	if len(scannerIDs) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT s::text, count(*) FROM unnest($1::uuid[]) AS s
		JOIN jobs j ON j.status = 'queued' AND NOT j.cancel_requested AND j.created_at < $2
			AND ((j.kind = 'vantage' AND j.scanner_id = s) OR (j.kind = 'pool' AND s = ANY (j.pool)))
		GROUP BY s`, scannerIDs, before)
	if err != nil {
		return nil, err
	}
	var id string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		out[id] = n
		return nil
	})
	return out, err
}
