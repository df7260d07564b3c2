package results

import (
	"context"
	"time"

	"mipo/app"
)

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
// scans table and provides it (ProvideScans) from its init(): results never read that table,
// and the results package does not import scans (which, through ingest, imports results).
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

var scanSource ScanSource

// ProvideScans installs the scans module's answers; the results module requires it.
func ProvideScans(s ScanSource) { scanSource = s }
