package results

import "mipo/modules/results/resultsapi"

// The types and helpers the results module shares with the others live in resultsapi, its
// contract; these names keep the module's own code reading as before.
type (
	Key          = resultsapi.Key
	Change       = resultsapi.Change
	Diff         = resultsapi.Diff
	Covered      = resultsapi.Covered
	ScanPort     = resultsapi.ScanPort
	Observation  = resultsapi.Observation
	Batch        = resultsapi.Batch
	Coverage     = resultsapi.Coverage
	Outcome      = resultsapi.Outcome
	Sample       = resultsapi.Sample
	DayChanges   = resultsapi.DayChanges
	HistoryQuery = resultsapi.HistoryQuery
	Scan         = resultsapi.Scan
	ScanRef      = resultsapi.ScanRef
	FinishedScan = resultsapi.FinishedScan
)

const ClockSkew = resultsapi.ClockSkew

var (
	ServiceName = resultsapi.ServiceName
	merge       = resultsapi.Merged
)

func init() {
	resultsapi.CoverageOf = CoverageOf
	resultsapi.EachWantedOpenPort = EachWantedOpenPort
	resultsapi.DiffScans = DiffScans
	resultsapi.CheckHistoryQuery = CheckHistoryQuery
	resultsapi.Outcomes = Outcomes
	resultsapi.ChangesSince = ChangesSince
	resultsapi.ChangesPerDay = ChangesPerDay
	resultsapi.Insert = Insert
	resultsapi.ReceivedBatches = ReceivedBatches
	resultsapi.MissingBatches = MissingBatches
	resultsapi.RecordCoverage = RecordCoverage
}

// scanSource is the scans module's answers about scans (resultsapi.Scans).
func scanSource() resultsapi.ScanSource { return resultsapi.Scans }
