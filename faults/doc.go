// Package faults proves the production topology under stress: the same binaries as compose.yaml
// runs, as processes on one machine, with faults injected while a scan streams its results.
//
// One PostgreSQL cluster holds the three databases; `mipo serve` runs as manager, two ingest
// nodes, two dispatchers (one leads, one waits) and backup; Debian's nginx is the TLS edge,
// routing /scanner/* to the ingest pair and everything else to the manager; real mipo-scanner
// processes scan real listeners on 127.0.0.0/8 through that edge. Each fault then kills or cuts
// one part during a running scan, and the test counts what the scanners found against what the
// listeners are: nothing lost, nothing stored twice.
//
// The suite runs only with MIPO_FAULTS=1 (`make test-faults`, which installs nginx when it is
// missing); plain `go test ./...` skips it with a message. It must never touch anything it did
// not start: every process is killed by the PID it was given, every port is picked free, every
// directory is its own temporary one, and nginx runs from its own configuration and pid file.
package faults
