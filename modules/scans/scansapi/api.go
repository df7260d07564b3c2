// Package scansapi is the scans module's contract with the other modules: the types they share
// with it and the calls they may make. It holds no SQL: the scans module fills in the calls
// from its init() (main.go links every module in), so a module that uses scans does not build
// the scans module's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode). A schedule's Timing (timing.go) is here too: the
// backup and discovery modules schedule with it.
package scansapi

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/config/configapi"
)

// Scan statuses.
const (
	Pending   = "pending"   // launched, waiting for the dispatcher
	Running   = "running"   // its jobs are out
	Completed = "completed" // every job ended; some may have failed (jobs_failed)
	Failed    = "failed"    // it could not run (no scanner, or every job failed)
	Cancelled = "cancelled"
)

// Scan is one run of a template.
type Scan struct {
	ID              string           `json:"id"`
	TemplateID      string           `json:"template_id"`
	TemplateName    string           `json:"template_name"`
	TemplateVersion int              `json:"template_version" doc:"The template version the scope was resolved from."`
	TemplateGroupID *string          `json:"template_group_id"`
	ScheduleID      *string          `json:"schedule_id"`
	Scope           *configapi.Scope `json:"scope,omitempty" doc:"The resolved scope frozen at launch (in the detail view)."`
	Mode            string           `json:"mode" doc:"pool: batches spread over a pool of scanners; vantage: every scanner of the groups scans everything."`
	ScannerIDs      []string         `json:"scanner_ids" doc:"The scanners given its jobs."`
	Status          string           `json:"status" doc:"pending, running, completed, failed or cancelled."`
	StatusDetail    string           `json:"status_detail"`
	Addresses       string           `json:"addresses" doc:"Addresses in scope (a decimal string: IPv6 scopes overflow 64 bits)."`
	Ports           int              `json:"ports"`
	Probes          string           `json:"probes" doc:"Connection attempts: addresses × ports."`
	JobsTotal       int              `json:"jobs_total"`
	JobsFailed      int              `json:"jobs_failed" doc:"Jobs that failed; their partial results are kept and marked."`
	Completion      float64          `json:"completion" doc:"Percent of connection attempts made."`
	LaunchedBy      string           `json:"launched_by"`
	CreatedAt       time.Time        `json:"created_at"`
	StartedAt       *time.Time       `json:"started_at"`
	FinishedAt      *time.Time       `json:"finished_at"`
	Trigger         string           `json:"trigger" doc:"manual (launched by someone) or scheduled (launched by a schedule)."`
	// The outcome, worked out once the scan completes (null until then).
	OpenPorts    *int    `json:"open_ports" doc:"Distinct address and port pairs it found open; null until its outcome is worked out, a moment after it completes."`
	Opened       *int    `json:"opened" doc:"Ports that opened since the template's previous completed scan; null for its first scan or until the outcome is worked out."`
	Closed       *int    `json:"closed" doc:"Ports that closed since the template's previous completed scan; null as opened."`
	ComparedWith *string `json:"compared_with" doc:"The previous scan opened and closed count against (its diff is GET /api/v1/scans/{id}/diff); null for a template's first scan."`
	FirstScan    bool    `json:"first_scan" doc:"Its outcome is known and there was no earlier completed scan of its template: nothing to compare yet."`
}

// Name is how a scan is called where a name is wanted (the audit log): its template's name
// and when it was launched.
func (s *Scan) Name() string {
	return s.TemplateName + " · " + s.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")
}

// Open reports whether the scan may still change.
func (s *Scan) Open() bool { return s.Status == Pending || s.Status == Running }

// NextRun is a schedule's next launch.
type NextRun struct {
	ScheduleID      string    `json:"schedule_id"`
	Name            string    `json:"name"`
	TemplateID      *string   `json:"template_id"`
	TemplateGroupID *string   `json:"template_group_id"`
	At              time.Time `json:"at"`
}

// The calls the scans module answers, filled in by its init().
var (
	// InFlight lists the pending and running scans, newest first, at most limit.
	InFlight func(ctx context.Context, db app.Querier, limit int) ([]*Scan, error)
	// LatestPerTemplate lists each template's latest finished scan (completed, failed or
	// cancelled), newest first, at most limit.
	LatestPerTemplate func(ctx context.Context, db app.Querier, limit int) ([]*Scan, error)
	// NextRuns lists the enabled schedules' next launches, soonest first, at most limit.
	NextRuns func(ctx context.Context, db app.Querier, limit int) ([]NextRun, error)
	// WithOutcomes fills in the outcome of completed scans from the results module.
	WithOutcomes func(ctx context.Context, rdb app.ResultsDB, scans ...*Scan) error
	// CompletedBetween lists the scans that completed in [from, to), oldest first, each with
	// its frozen scope.
	CompletedBetween func(ctx context.Context, db app.Querier, from, to time.Time) ([]*Scan, error)
)
