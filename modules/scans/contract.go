package scans

import "mipo/modules/scans/scansapi"

// The types the scans module shares with the others live in scansapi, its contract; these
// names keep the module's own code reading as before.
type (
	Scan     = scansapi.Scan
	NextRun  = scansapi.NextRun
	Timing   = scansapi.Timing
	Blackout = scansapi.Blackout
)

// Scan statuses.
const (
	Pending   = scansapi.Pending
	Running   = scansapi.Running
	Completed = scansapi.Completed
	Failed    = scansapi.Failed
	Cancelled = scansapi.Cancelled
)

func init() {
	scansapi.InFlight = InFlight
	scansapi.LatestPerTemplate = LatestPerTemplate
	scansapi.NextRuns = NextRuns
	scansapi.WithOutcomes = WithOutcomes
	scansapi.CompletedBetween = CompletedBetween
}
