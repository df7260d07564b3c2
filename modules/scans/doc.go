// Package scans runs scans end to end. It registers two modules: "scans" (manager role: the
// API and pages to launch, cancel, watch and compare scans, the results history and the
// schedules) and "dispatcher" (dispatcher role: one leader process, the others hot standbys,
// that expands launched scans into jobs, re-queues stalled jobs, completes scans, and launches
// scheduled ones). Both own the same tables: scans, scan_stalls and schedules.
//
// A scan's scope is resolved once, when it is launched, and frozen into the scan: later edits
// to the template change later scans, never this one.
package scans
