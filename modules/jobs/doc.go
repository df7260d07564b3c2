// Package jobs owns the jobs table of the jobs database: the batches of a scan handed to
// scanners. The dispatcher creates and reconciles jobs; ingest leases them to scanners and
// records their progress and completion. Both go through its contract, jobsapi (the types and
// calls this package fills in), never through the table. It has no routes of its own.
//
// A job's life: queued → leased (a scanner took it) → running (first progress) → done, failed
// or cancelled. The reconciler puts a leased or running job whose progress went silent back to
// queued (attempts + 1), or fails it after max_attempts.
package jobs
