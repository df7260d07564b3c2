package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Create inserts queued jobs and returns their ids. All of them go to the database in one
// round trip, so a scan cut into thousands of batches is created in one go.
func Create(ctx context.Context, db Batcher, now time.Time, jobs ...New) ([]string, error) {
	ids := make([]string, 0, len(jobs))
	batch := &pgx.Batch{}
	for _, n := range jobs {
		if n.Kind != KindPool && n.Kind != KindVantage {
			return nil, fmt.Errorf("job kind %q", n.Kind)
		}
		if n.Kind == KindVantage && n.ScannerID == "" || n.Kind == KindPool && len(n.Pool) == 0 {
			return nil, errors.New("a vantage job needs its scanner, a pool job its pool")
		}
		targets, err := json.Marshal(n.Targets)
		if err != nil {
			return nil, err
		}
		hosts := n.Targets.Count()
		if !hosts.IsInt64() || hosts.Int64() == 0 {
			return nil, fmt.Errorf("a job must hold between 1 and 2^63 addresses, this one holds %s", hosts)
		}
		if n.MaxAttempts == 0 {
			n.MaxAttempts = 3
		}
		var scanner *string
		if n.Kind == KindVantage {
			scanner = &n.ScannerID
		}
		pool := n.Pool
		if pool == nil {
			pool = []string{}
		}
		// Time-ordered (UUIDv7): the jobs index and, through job_id, the results ledger's
		// primary key append at their right edge instead of splitting pages all over.
		id := uuid.Must(uuid.NewV7()).String()
		batch.Queue(`INSERT INTO jobs (id, scan_id, kind, scanner_id, pool, seq, targets, ports, hosts_total, ports_total,
			rate_limit, concurrency, timeout_ms, retries, max_duration_seconds, status, max_attempts, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,'queued',$16,$17)`,
			id, n.ScanID, n.Kind, scanner, pool, n.Seq, targets, n.Ports.String(), hosts.Int64(), hosts.Int64()*int64(n.Ports.Count()),
			n.RateLimit, n.Concurrency, n.TimeoutMS, n.Retries, n.MaxDurationSeconds, n.MaxAttempts, now)
		ids = append(ids, id)
	}
	if batch.Len() == 0 {
		return ids, nil
	}
	return ids, db.SendBatch(ctx, batch).Close()
}

// Lease gives a scanner its next queued job, oldest first: one addressed to it (a vantage
// job) or one of a pool it belongs to. SKIP LOCKED lets several ingest nodes lease at once
// without handing one job out twice. It returns nil when there is nothing to do.
func Lease(ctx context.Context, db app.Querier, scannerID string, now time.Time) (*Job, error) {
	// The lease and its holder's record are one statement: a holder is never missing for an
	// attempt (ingest accepts a former holder's late results only by this record).
	j, err := scan(db.QueryRow(ctx, `
		WITH leased AS (
			UPDATE jobs SET status = 'leased', scanner_id = $1, leased_at = $2, progress_at = $2, attempts = attempts + 1
			WHERE id = (
				SELECT id FROM jobs
				WHERE status = 'queued' AND NOT cancel_requested
				  AND ((kind = 'vantage' AND scanner_id = $1) OR (kind = 'pool' AND $1 = ANY (pool)))
				ORDER BY created_at, seq
				FOR UPDATE SKIP LOCKED
				LIMIT 1)
			RETURNING `+columns+`),
		held AS (INSERT INTO job_holders (job_id, attempt, scanner_id, leased_at) SELECT id, attempts, scanner_id, leased_at FROM leased)
		SELECT `+columns+` FROM leased`, scannerID, now))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return j, err
}

// HeldBy lists the attempts of a job the scanner held (current or former), latest first; none
// when it never held the job.
func HeldBy(ctx context.Context, db app.Querier, jobID, scannerID string) ([]Holding, error) {
	rows, err := db.Query(ctx, `SELECT attempt, leased_at FROM job_holders WHERE job_id = $1 AND scanner_id = $2 ORDER BY attempt DESC`,
		jobID, scannerID)
	return app.Collect(rows, err, func(r pgx.Row) (Holding, error) {
		var h Holding
		return h, r.Scan(&h.Attempt, &h.LeasedAt)
	})
}

// ReportProgress records a running job's counters. It answers whether the job was cancelled,
// and ErrGone when the job is no longer this scanner's.
func ReportProgress(ctx context.Context, db app.Querier, id, scannerID string, p Progress, now time.Time) (cancel bool, err error) {
	err = db.QueryRow(ctx, `
		UPDATE jobs SET status = 'running', hosts_done = GREATEST(hosts_done, $3), ports_probed = GREATEST(ports_probed, $4), progress_at = $5
		WHERE id = $1 AND scanner_id = $2 AND status IN ('leased', 'running')
		RETURNING cancel_requested`, id, scannerID, p.HostsDone, p.PortsProbed, now).Scan(&cancel)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, gone(ctx, db, id)
	}
	return cancel, err
}

// gone tells apart an unknown job from one that is not (or no longer) the scanner's.
func gone(ctx context.Context, db app.Querier, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return ErrNotFound
	}
	if _, err := Get(ctx, db, id); err != nil {
		return err
	}
	return ErrGone
}

// Complete ends a job the scanner holds. It returns the job as it now is.
func Complete(ctx context.Context, db app.Querier, id, scannerID string, c Completion, now time.Time) (*Job, error) {
	if c.Status != Done && c.Status != Failed && c.Status != Cancelled {
		return nil, fmt.Errorf("completion status %q", c.Status)
	}
	j, err := scan(db.QueryRow(ctx, `
		UPDATE jobs SET status = $3, error = $4, hosts_done = GREATEST(hosts_done, $5), ports_probed = GREATEST(ports_probed, $6),
			batches = $7, progress_at = $8, finished_at = $8, cpu_seconds = $9
		WHERE id = $1 AND scanner_id = $2 AND status IN ('leased', 'running')
		RETURNING `+columns, id, scannerID, c.Status, c.Error, c.HostsDone, c.PortsProbed, c.Batches, now, c.CPUSeconds))
	if errors.Is(err, ErrNotFound) {
		return nil, gone(ctx, db, id)
	}
	return j, err
}

// CancelScan stops a scan's jobs: queued ones at once, running ones when their scanner next
// reports progress (it is told to stop).
func CancelScan(ctx context.Context, db app.Querier, scanID string, now time.Time) error {
	if _, err := db.Exec(ctx, `UPDATE jobs SET status = 'cancelled', finished_at = $2, cancel_requested = true
		WHERE scan_id = $1 AND status = 'queued'`, scanID, now); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `UPDATE jobs SET cancel_requested = true WHERE scan_id = $1 AND status IN ('leased', 'running')`, scanID)
	return err
}

// Stalled lists leased or running jobs whose last progress is older than their window: the
// expected time for their probes at their rate, plus slack. window receives each candidate.
func Stalled(ctx context.Context, db app.Querier, now time.Time, window func(*Job) time.Duration) ([]*Job, error) {
	active, err := scanAll(db.Query(ctx, `SELECT `+columns+` FROM jobs WHERE status IN ('leased', 'running') ORDER BY progress_at`))
	if err != nil {
		return nil, err
	}
	var out []*Job
	for _, j := range active {
		if j.ProgressAt != nil && now.Sub(*j.ProgressAt) > window(j) {
			out = append(out, j)
		}
	}
	return out, nil
}

// Requeue puts a stalled job back in the queue, for another scanner of its pool or (a vantage
// job) for the same scanner when it returns, or fails it when it has had its tries. It only
// acts if the job is still held by the scanner that stalled (so a late progress report wins).
// It returns the job's new status.
func Requeue(ctx context.Context, db app.Querier, j *Job, reason string, now time.Time) (string, error) {
	status, errText := Queued, ""
	if j.Attempts >= j.MaxAttempts {
		status, errText = Failed, fmt.Sprintf("%s; gave up after %d attempts", reason, j.Attempts)
	}
	var finished *time.Time
	if status == Failed {
		finished = &now
	}
	// A pool job forgets its scanner, so any healthy one of the pool may take it; a vantage job
	// keeps it: its point is that one scanner's view.
	tag, err := db.Exec(ctx, `
		UPDATE jobs SET status = $4, error = $5, finished_at = $6, leased_at = NULL,
			scanner_id = CASE WHEN kind = 'pool' THEN NULL ELSE scanner_id END
		WHERE id = $1 AND scanner_id = $2 AND status IN ('leased', 'running') AND progress_at = $3`,
		j.ID, j.ScannerID, j.ProgressAt, status, errText, finished)
	if err != nil {
		return "", err
	}
	if tag.RowsAffected() == 0 {
		return j.Status, nil
	}
	return status, nil
}

// StateOf sums a scan's jobs.
func StateOf(ctx context.Context, db app.Querier, scanID string) (ScanState, error) {
	var s ScanState
	err := db.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'failed'),
			count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status IN ('leased', 'running')),
			count(*) FILTER (WHERE status = 'queued'),
			COALESCE(sum(hosts_total), 0), COALESCE(sum(hosts_done), 0), COALESCE(sum(ports_total), 0), COALESCE(sum(ports_probed), 0)
		FROM jobs WHERE scan_id = $1`, scanID).
		Scan(&s.Jobs, &s.Done, &s.Failed, &s.Cancelled, &s.Active, &s.Queued, &s.HostsTotal, &s.HostsDone, &s.PortsTotal, &s.PortsProbed)
	return s, err
}

// FailUnclaimed fails every job that waited in the queue since before cutoff (no scanner took
// it), giving reason, and returns how many it failed.
func FailUnclaimed(ctx context.Context, db app.Querier, cutoff time.Time, reason string, now time.Time) (int64, error) {
	tag, err := db.Exec(ctx, `UPDATE jobs SET status = 'failed', error = $2, finished_at = $3 WHERE status = 'queued' AND created_at < $1`,
		cutoff, reason, now)
	return tag.RowsAffected(), err
}
