// Package findings answers "is this open port allowed here, and who decided": baselines say
// which ports are expected per address, subnet or subnet group; after each completed scan every
// open port its baseline does not allow is a finding, which people triage (accept with a reason
// and maybe an expiry, mark a risk, assign); and an evidence pack proves a scope's exposure over
// a date range to someone who trusts only the archive and mipo's public key.
//
// The module owns baselines, baseline_versions, findings, finding_events and evidence_keys. It
// reads observations and coverage only through the results module's exported functions, scans
// through the scans module's, subnets and port lists through the config module's, and it hears
// of completed scans on the event bus (scan.completed). It never reads another module's tables.
package findings
