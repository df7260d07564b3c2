// Command mipo-scanner is mipo's scanning agent. It is deployed inside an
// organisation's networks, leases scan jobs from mipo's ingest API, finds the
// open TCP ports of the addresses and ports a job names by TCP connect scans,
// and reports them back, together with progress and a heartbeat carrying the
// host's load, memory and network counters.
//
// Everything a scanner does is meant to be read by the people who run it, in
// one sitting, so the program keeps to a few rules:
//
//   - It imports nothing outside the Go standard library: go.mod has no
//     require lines, and the binary is built with CGO_ENABLED=0.
//   - It talks to one place only: the ingest server named in its config
//     (over HTTPS; plain HTTP only with --insecure-http, for tests). It
//     follows no redirects and uses no proxy. It never phones anywhere else.
//   - It never updates itself, downloads code, or changes its own binary.
//     Updates are placed on the host by its operators.
//   - It never touches a database; ingest does that.
//   - It never loses an observation it made: results and job completions are
//     written to an on-disk spool (fsync'd, atomically renamed) before they
//     are sent, and removed only once ingest acknowledged them.
//   - It never exceeds the rate and concurrency the job (or its own
//     configured capacity) allows, nor the process file-descriptor limit, and
//     closes every probe socket with a reset so no TIME_WAIT sockets pile up.
//
// The scanner runs up to max_jobs jobs at once on one engine: the capacity
// it reports (concurrency, rate, file descriptors) is what all of them
// together may use.
//
// The wire protocol is described in docs/scanner-protocol.md at the root of
// the mipo repository. Files: main.go (command line), config.go (stored
// config and key), protocol.go (wire types, job validation), targets.go
// (address intervals), scan.go (what both connect-scan engines share),
// scan_linux.go (the epoll engine), scan_dial.go (the portable net.Dialer
// engine), ratelimit.go,
// metrics.go (/proc), client.go (HTTP and key pinning), spool.go, agent.go
// (the run loop).
package main
