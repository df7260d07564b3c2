// Package resultsapi is the results module's contract with the other modules: the types they
// share with it and the calls they may make. It holds no SQL: the results module fills in the
// calls from its init() (main.go links every module in), so a module that uses results does not
// build the results module's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode).
package resultsapi

import (
	"context"
	"net/netip"
	"time"

	"mipo/app"
	"mipo/modules/config/catalog"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// Key is one address and port.
type Key struct {
	Address netip.Addr
	Port    uint16
}

// Change is a port that opened or closed between two scans, as one scanner saw it.
type Change struct {
	ScannerID string `json:"scanner_id,omitempty"`
	Address   string `json:"address"`
	Port      int    `json:"port"`
	Service   string `json:"service" doc:"The port catalog's name for the port."`
}

// Diff is what changed between two scans, counting only what both covered: an address or
// port outside either scan's coverage is neither opened nor closed. A diff comes in pages:
// changes in (scanner, address, port) order, at most limit of them, and next_cursor while more
// remain, so a million changes never make one document in memory.
type Diff struct {
	From       string   `json:"from" doc:"The earlier scan."`
	To         string   `json:"to" doc:"The later scan."`
	Opened     []Change `json:"opened"`
	Closed     []Change `json:"closed"`
	NextCursor string   `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page of changes; absent on the last page."`
}

// ServiceName labels a port with the catalog's service name, or "" when it has none.
func ServiceName(port uint16) string {
	if e, ok := catalog.Lookup(port); ok {
		return e.Name
	}
	return ""
}

// ScanPort is one address and port a scan found open: which scanner saw it, and when.
type ScanPort struct {
	Key
	ScannerID  string
	ObservedAt time.Time
}

// Merged is what a scan's scanners covered together: a pool scan's coverage, where it does not
// matter which scanner probed an address.
func Merged(cov map[string]Covered) Covered {
	var all Covered
	for _, c := range cov {
		all.Targets, all.Ports = all.Targets.Union(c.Targets), all.Ports.Union(c.Ports)
	}
	return all
}

// Covered is what one scanner fully probed in one scan: every port of Ports on every address
// of Targets. A scan has one port set, so a scanner's coverage is a single product.
type Covered struct {
	ScannerID string
	Targets   netset.Set
	Ports     portset.Set
	At        time.Time // when the last of its jobs completed
}

// Contains reports whether an address and port were probed.
func (c Covered) Contains(o Key) bool {
	return c.Ports.Contains(o.Port) && c.Targets.Contains(o.Address)
}

// Intersect is what both coverages probed.
func (c Covered) Intersect(o Covered) Covered {
	return Covered{ScannerID: c.ScannerID, Targets: c.Targets.Intersect(o.Targets), Ports: c.Ports.Intersect(o.Ports)}
}

// ClockSkew is how far a scanner's clock may be from mipo's: ingest refuses a result observed
// more than this before its job was leased, so no observation of a scan is older than its
// launch less this, and a diff reads no partition before that.
const ClockSkew = 10 * time.Minute

// Observation is one open port a scanner saw.
type Observation struct {
	Address    netip.Addr
	Port       uint16
	ObservedAt time.Time
	RTTMicros  int32
}

// Batch is one results delivery of a job.
type Batch struct {
	JobID, ScanID, ScannerID string
	// Attempt is the lease of the job the batch belongs to (jobsapi.Job.Attempts when it was
	// leased): a job re-queued after a stall numbers its batches from 1 again, and a former
	// holder's late batches must not collide with its new holder's. 0: not told.
	Attempt      int
	Seq          int
	Observations []Observation
	// SharedSince is set when the job changed hands (it was leased more than once): then the
	// address and port pairs another attempt of the job already stored since that time (the
	// job's creation, less the clock skew) are one fact seen twice, and are skipped, so a
	// former holder's late results and its new holder's count each open port once.
	SharedSince time.Time
}

// Coverage is what a finished job probed.
type Coverage struct {
	JobID, ScanID, ScannerID string
	Targets                  netset.Set // the addresses whose every port was probed
	Ports                    portset.Set
	Status                   string
	CompletedAt              time.Time
}

// Outcome is what a completed scan found: its open ports, and what opened and closed against
// the template's previous completed scan. It is worked out once, when the scan completes
// (RecordOutcome), so lists and the home page read three numbers instead of diffing.
type Outcome struct {
	ScanID         string    `json:"scan_id"`
	TemplateID     string    `json:"template_id"`
	PreviousScanID *string   `json:"previous_scan_id" doc:"The scan it was compared with; null for a template's first scan."`
	FinishedAt     time.Time `json:"finished_at"`
	OpenPorts      int       `json:"open_ports" doc:"Distinct address and port pairs found open."`
	Opened         *int      `json:"opened" doc:"Ports open now that the previous scan probed and found closed; null without a previous scan."`
	Closed         *int      `json:"closed" doc:"Ports the previous scan found open that this one probed and found closed; null without a previous scan."`
	Sample         Sample    `json:"sample"`
}

// Sample is the first few changes of an outcome, for the home page.
type Sample struct {
	Opened []Change `json:"opened"`
	Closed []Change `json:"closed"`
}

// DayChanges is how many ports opened and closed in the scans that completed on one day (UTC).
type DayChanges struct {
	Day    time.Time `json:"day" doc:"The day's start (UTC)."`
	Opened int       `json:"opened"`
	Closed int       `json:"closed"`
	Scans  int       `json:"scans" doc:"Scans that completed that day with a previous scan to compare with."`
}

// HistoryQuery filters observations. Every field is optional.
type HistoryQuery struct {
	Subnet  string `query:"subnet" json:"subnet,omitempty" doc:"Only addresses inside this CIDR, such as 10.1.0.0/16 or 2001:db8::/48; a bare address means that one address."`
	Ports   string `query:"ports" json:"ports,omitempty" doc:"Only these ports: a port list such as 22,80,8000-8100."`
	Scanner string `query:"scanner" json:"scanner,omitempty" doc:"Only what this scanner (id) saw."`
	Scan    string `query:"scan" json:"scan,omitempty" doc:"Only this scan (id)."`
	From    string `query:"from" json:"from,omitempty" doc:"Observed at or after this time (RFC 3339)."`
	To      string `query:"to" json:"to,omitempty" doc:"Observed before this time (RFC 3339)."`
	Limit   int    `query:"limit" json:"limit,omitempty" doc:"Observations per page, 1 to 1000 (default 100)."`
	Cursor  string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
	Format  string `query:"format" json:"format,omitempty" doc:"Export format: csv or json (export only)."`
}

// Scan is what the results module needs to know of a scan: which observations are its, when it
// was launched (the older of two compared scans comes first) and whether every scanner scanned
// everything (then results compare scanner by scanner).
type Scan struct {
	ID         string
	TemplateID string
	LaunchedAt time.Time
	FinishedAt time.Time // zero while it runs
	Vantage    bool
}

// ScanSource answers the results module's questions about scans. The scans module owns the
// scans table and sets Scans from its init(): results never read that table, and neither
// module builds in the other's store code.
type ScanSource interface {
	// Scan returns a scan; not found is a 404.
	Scan(ctx context.Context, db app.Querier, id string) (Scan, error)
	// Previous returns the template's latest completed scan launched before s; none is a 409.
	Previous(ctx context.Context, db app.Querier, s Scan) (Scan, error)
	// LatestAt returns the template's latest scan completed by t; none is a 400 naming field.
	LatestAt(ctx context.Context, db app.Querier, templateID string, t time.Time, field string) (Scan, error)
	// Completed lists the completed scans (of one template, or of all when templateID is "")
	// in the order they finished.
	Completed(ctx context.Context, db app.Querier, templateID string) ([]ScanRef, error)
	// Latest lists each template's latest completed scan (only that template's when templateID
	// is not ""): what "open now" reads.
	Latest(ctx context.Context, db app.Querier, templateID string) ([]ScanRef, error)
	// Finished lists the completed scans (of one template, or of all when templateID is "")
	// that finished in [from, to), each with the template's completed scan before it, oldest
	// first and at most limit of them.
	Finished(ctx context.Context, db app.Querier, from, to time.Time, templateID string, limit int) ([]FinishedScan, error)
}

// FinishedScan is a completed scan with the scan it is compared with for its changes: the
// template's previous completed scan (Previous.ID is "" for a template's first scan).
type FinishedScan struct {
	Scan
	TemplateName string
	FinishedAt   time.Time
	Previous     Scan
}

// ScanRef is a scan in time, for timelines, with its template.
type ScanRef struct {
	ID         string
	At         time.Time
	TemplateID string
}

// Scans is the scans module's ScanSource, set from its init(); the results module requires it.
var Scans ScanSource

// The calls the results module answers, filled in by its init().
var (
	// CoverageOf returns what each scanner of a scan covered, from its completed jobs.
	CoverageOf func(ctx context.Context, pool app.ResultsDB, scanID string) (map[string]Covered, error)
	// EachWantedOpenPort calls fn for every observation of the ports of a scan that want
	// accepts (want sees every observation's address and port), scanner and time included.
	EachWantedOpenPort func(ctx context.Context, pool app.ResultsDB, scanID string, want func(Key) bool, fn func(ScanPort) error) error
	// DiffScans is every change between two scans (byScanner: each scanner against itself).
	DiffScans func(ctx context.Context, pool app.ResultsDB, from, to string, byScanner bool) (*Diff, error)
	// CheckHistoryQuery validates a query without running it.
	CheckHistoryQuery func(q HistoryQuery) error
	// Outcomes returns the stored outcomes of the given scans, by scan id; a scan still
	// running, or completed a moment ago, has none yet.
	Outcomes func(ctx context.Context, pool app.ResultsDB, ids []string) (map[string]Outcome, error)
	// ChangesSince sums what opened and closed in the scans that completed since t.
	ChangesSince func(ctx context.Context, pool app.ResultsDB, t time.Time) (opened, closed int, err error)
	// ChangesPerDay sums what opened and closed per day (UTC), every day from the day of from
	// to the day of to listed, oldest first.
	ChangesPerDay func(ctx context.Context, pool app.ResultsDB, from, to time.Time) ([]DayChanges, error)
	// Insert stores a batch exactly once; duplicate is true for a batch stored before.
	Insert func(ctx context.Context, pool app.ResultsDB, b Batch, now time.Time) (duplicate bool, err error)
	// ReceivedBatches lists the batch numbers stored for one attempt of a job.
	ReceivedBatches func(ctx context.Context, pool app.ResultsDB, jobID string, attempt int) ([]int, error)
	// MissingBatches returns which of batches 1..n of an attempt of a job have not arrived.
	MissingBatches func(ctx context.Context, pool app.ResultsDB, jobID string, attempt, n int) ([]int, error)
	// RecordCoverage stores what a job covered, once.
	RecordCoverage func(ctx context.Context, pool app.ResultsDB, c Coverage) error
)
