// Package health is mipo watching itself: every role process reports its figures into the
// jobs database (report.go), the manager probes the databases, the edge, DNS, the served TLS
// certificate and the dispatcher's leadership (probes.go) and emits the events the alarm rules
// consume, keeps a downsampled history of every figure (history.go, downsample.go), answers the
// architecture overview and component pages (overview.go) and stores widget dashboards
// (dashboards.go).
//
// It never writes another module's tables: ingest throughput comes from ingestapi.Nodes, the
// certificate from tlsapi.Served, the leadership from app.LeaderActive.
package health
