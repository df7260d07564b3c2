// Package ingest is the scanner API (/scanner/v1, served by the ingest role): mipo-scanner
// agents register with a provisioning token, heartbeat, long-poll for jobs, and stream progress,
// results and completions. docs/scanner-protocol.md is the wire contract; this package
// implements its server side exactly.
//
// Every request but register is checked by this module's scanner guard: the API key (through
// scannersapi.Authenticate: hashed, constant-time), that the scanner is enabled, and that the
// source address is inside its binding. Refusals are answered 401/403 and written to the audit
// log and the event bus (scanner.rejected).
//
// Ingest never touches another module's tables: scanners are read and written through
// scannersapi, jobs through jobsapi (the scanners and jobs modules' contracts), results through
// package results. Several ingest
// processes serve at once; nothing here keeps state a second process would need, except each
// process's own throughput figures (ingest_nodes, read with Nodes, which other modules call
// through ingestapi).
//
// The answers follow what the scanner does with them: 400, 404, 413 and 422 make it set a
// message aside for good, so they are kept for messages that can never be accepted; trouble
// that may pass (a database outage) is a 5xx, which it retries.
//
// It also serves, without credentials, the installer (GET /scanner/install.sh) and the
// mipo-scanner binary with its SHA-256, so a provisioning command installs what this mipo ships.
package ingest
