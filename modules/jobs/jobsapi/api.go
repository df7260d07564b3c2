// Package jobsapi is the jobs module's contract with the other modules: the types they share
// with it and the calls they may make. It holds no SQL: the jobs module fills in the calls from
// its init() (main.go links every module in), so a module that uses jobs does not build the
// jobs module's store code into itself (house_test.go TestModulesBuildNoOtherModulesStoreCode).
package jobsapi

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// Kinds of job.
const (
	KindPool    = "pool"    // any scanner of Pool may lease it
	KindVantage = "vantage" // only ScannerID may lease it: one vantage point of a group
)

// Statuses of a job.
const (
	Queued    = "queued"
	Leased    = "leased"
	Running   = "running"
	Done      = "done"
	Failed    = "failed"
	Cancelled = "cancelled"
)

// Job is one batch of a scan for a scanner.
type Job struct {
	ID                 string      `json:"id"`
	ScanID             string      `json:"scan_id"`
	Kind               string      `json:"kind"`
	ScannerID          string      `json:"scanner_id,omitempty"`
	Pool               []string    `json:"pool,omitempty"`
	Seq                int         `json:"seq"`
	Targets            netset.Set  `json:"targets"`
	Ports              portset.Set `json:"ports"`
	HostsTotal         int64       `json:"hosts_total"`
	PortsTotal         int64       `json:"ports_total"`
	RateLimit          int         `json:"rate_limit"`
	Concurrency        int         `json:"concurrency"`
	TimeoutMS          int         `json:"timeout_ms"`
	Retries            int         `json:"retries"`
	MaxDurationSeconds int         `json:"max_duration_seconds"`
	Status             string      `json:"status"`
	Attempts           int         `json:"attempts"`
	MaxAttempts        int         `json:"max_attempts"`
	CancelRequested    bool        `json:"cancel_requested"`
	LeasedAt           *time.Time  `json:"leased_at"`
	HostsDone          int64       `json:"hosts_done"`
	PortsProbed        int64       `json:"ports_probed"`
	ProgressAt         *time.Time  `json:"progress_at"`
	Batches            *int        `json:"batches"`
	Error              string      `json:"error"`
	CreatedAt          time.Time   `json:"created_at"`
	FinishedAt         *time.Time  `json:"finished_at"`
}

// Active reports whether a scanner holds the job.
func (j *Job) Active() bool { return j.Status == Leased || j.Status == Running }

// Finished reports whether the job has ended.
func (j *Job) Finished() bool { return j.Status == Done || j.Status == Failed || j.Status == Cancelled }

var (
	// ErrNotFound: no such job.
	ErrNotFound = errors.New("no such job")
	// ErrGone: the job is no longer this scanner's (finished, cancelled, or re-queued
	// elsewhere after a stall). Ingest answers 410 and the scanner drops it.
	ErrGone = errors.New("the job is no longer assigned to this scanner")
)

// New describes a job to create.
type New struct {
	ScanID             string
	Kind               string
	ScannerID          string   // vantage
	Pool               []string // pool
	Seq                int
	Targets            netset.Set
	Ports              portset.Set
	RateLimit          int
	Concurrency        int
	TimeoutMS          int
	Retries            int
	MaxDurationSeconds int
	MaxAttempts        int // 0: 3
}

// Batcher is a pool or a transaction that can send a batch of statements in one round trip.
type Batcher interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}

// Holding is one lease of a job by one scanner.
type Holding struct {
	Attempt  int
	LeasedAt time.Time
}

// Progress is what a scanner reports while a job runs.
type Progress struct {
	HostsDone   int64
	PortsProbed int64
}

// Completion is a scanner's last word on a job.
type Completion struct {
	Status      string // Done, Failed or Cancelled
	Error       string
	HostsDone   int64
	PortsProbed int64
	Batches     int
	CPUSeconds  *float64 // the scanner's own CPU time for the job; nil: it did not say
}

// ScanState summarises a scan's jobs.
type ScanState struct {
	Jobs, Done, Failed, Cancelled, Active, Queued int
	HostsTotal, HostsDone                         int64
	PortsTotal, PortsProbed                       int64
}

// Finished reports whether every job of the scan has ended.
func (s ScanState) Finished() bool { return s.Jobs > 0 && s.Done+s.Failed+s.Cancelled == s.Jobs }

// The calls the jobs module answers, filled in by its init(); each is documented where the jobs
// module defines it (modules/jobs).
var (
	// Create inserts queued jobs, in one round trip, and returns their ids.
	Create func(ctx context.Context, db Batcher, now time.Time, jobs ...New) ([]string, error)
	// Get loads one job; ErrNotFound when there is none.
	Get func(ctx context.Context, db app.Querier, id string) (*Job, error)
	// ListByScan returns a scan's jobs in order.
	ListByScan func(ctx context.Context, db app.Querier, scanID string) ([]*Job, error)
	// StateOf sums a scan's jobs.
	StateOf func(ctx context.Context, db app.Querier, scanID string) (ScanState, error)
	// ScanCompletion returns, for each of the given scans that has jobs, the percent of its
	// connection attempts made so far.
	ScanCompletion func(ctx context.Context, db app.Querier, scanIDs []string) (map[string]float64, error)
	// CancelScan stops a scan's jobs: queued ones at once, running ones at their next report.
	CancelScan func(ctx context.Context, db app.Querier, scanID string, now time.Time) error
	// Stalled lists leased or running jobs whose last progress is older than their window.
	Stalled func(ctx context.Context, db app.Querier, now time.Time, window func(*Job) time.Duration) ([]*Job, error)
	// Requeue puts a stalled job back in the queue, or fails it after its tries; it returns the
	// job's new status.
	Requeue func(ctx context.Context, db app.Querier, j *Job, reason string, now time.Time) (string, error)
	// FailUnclaimed fails every job queued since before cutoff and returns how many.
	FailUnclaimed func(ctx context.Context, db app.Querier, cutoff time.Time, reason string, now time.Time) (int64, error)

	// Lease gives a scanner its next queued job; nil when there is nothing to do.
	Lease func(ctx context.Context, db app.Querier, scannerID string, now time.Time) (*Job, error)
	// HeldBy lists the attempts of a job the scanner held, latest first.
	HeldBy func(ctx context.Context, db app.Querier, jobID, scannerID string) ([]Holding, error)
	// ReportProgress records a running job's counters and answers whether it was cancelled;
	// ErrGone when the job is no longer this scanner's.
	ReportProgress func(ctx context.Context, db app.Querier, id, scannerID string, p Progress, now time.Time) (cancel bool, err error)
	// Complete ends a job the scanner holds and returns the job as it now is.
	Complete func(ctx context.Context, db app.Querier, id, scannerID string, c Completion, now time.Time) (*Job, error)

	// ActiveByScanner lists the ids of the jobs each of the given scanners holds now.
	ActiveByScanner func(ctx context.Context, db app.Querier, scannerIDs []string) (map[string][]string, error)
	// WaitingFor counts, for each of the given scanners, the queued jobs it could have leased
	// that were created before a time.
	WaitingFor func(ctx context.Context, db app.Querier, scannerIDs []string, before time.Time) (map[string]int, error)
	// ProbesPerCPUSecond is, per scanner, the probes its jobs finished since since made for
	// each CPU second it spent on them.
	ProbesPerCPUSecond func(ctx context.Context, db app.Querier, since time.Time) (map[string]float64, error)
)
