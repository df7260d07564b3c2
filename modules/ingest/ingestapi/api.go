// Package ingestapi is the ingest module's contract with the other modules: the types they
// share with it and the calls they may make. It holds no SQL: the ingest module fills in the
// calls from its init() (main.go links every module in), so a module that uses ingest does not
// build the ingest module's store code into itself (house_test.go
// TestModulesBuildNoOtherModulesStoreCode).
package ingestapi

import (
	"context"
	"time"

	"mipo/app"
)

// Node is one ingest process's throughput.
type Node struct {
	Node            string    `json:"node" doc:"host:pid of the ingest process."`
	StartedAt       time.Time `json:"started_at"`
	UpdatedAt       time.Time `json:"updated_at" doc:"When the process last wrote its figures (every 10 seconds while it runs)."`
	RequestsTotal   int64     `json:"requests_total"`
	ResultsTotal    int64     `json:"results_total" doc:"Open-port results stored since the process started."`
	RequestsPerS    float64   `json:"requests_per_s" doc:"Scanner API requests per second over the last 10 seconds."`
	ResultsPerS     float64   `json:"results_per_s" doc:"Results stored per second over the last 10 seconds."`
	PeakResultsPerS float64   `json:"peak_results_per_s"`
}

// The calls the ingest module answers, filled in by its init().
var (
	// Nodes lists every ingest process that reported its throughput, most recent first. A node
	// whose UpdatedAt is older than a few intervals has stopped.
	Nodes func(ctx context.Context, db app.Querier) ([]Node, error)
)
