package jobs

import "mipo/modules/jobs/jobsapi"

// The jobs module's side of its contract (jobsapi): the shared types under their old names here,
// and the calls other modules make, filled in with this package's functions.

type (
	Job        = jobsapi.Job
	New        = jobsapi.New
	Batcher    = jobsapi.Batcher
	Holding    = jobsapi.Holding
	Progress   = jobsapi.Progress
	Completion = jobsapi.Completion
	ScanState  = jobsapi.ScanState
)

const (
	KindPool    = jobsapi.KindPool
	KindVantage = jobsapi.KindVantage

	Queued    = jobsapi.Queued
	Leased    = jobsapi.Leased
	Running   = jobsapi.Running
	Done      = jobsapi.Done
	Failed    = jobsapi.Failed
	Cancelled = jobsapi.Cancelled
)

var (
	ErrNotFound = jobsapi.ErrNotFound
	ErrGone     = jobsapi.ErrGone
)

func init() {
	jobsapi.Create, jobsapi.Get, jobsapi.ListByScan, jobsapi.StateOf = Create, Get, ListByScan, StateOf
	jobsapi.ScanCompletion, jobsapi.CancelScan, jobsapi.Stalled, jobsapi.Requeue = ScanCompletion, CancelScan, Stalled, Requeue
	jobsapi.FailUnclaimed = FailUnclaimed
	jobsapi.Lease, jobsapi.HeldBy, jobsapi.ReportProgress, jobsapi.Complete = Lease, HeldBy, ReportProgress, Complete
	jobsapi.ActiveByScanner, jobsapi.WaitingFor, jobsapi.ProbesPerCPUSecond = ActiveByScanner, WaitingFor, ProbesPerCPUSecond
}
