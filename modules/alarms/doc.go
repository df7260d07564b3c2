// Package alarms turns events into alarms people act on, and alarms into notifications.
//
// Rules (rules.go) map event types to an alarm key and a severity; a recovery event resolves
// the alarm. Alarms (alarms.go) are stateful and deduplicated by key: a repeat of an unresolved
// alarm bumps its count, it never opens a second. Each transition (opened, escalated,
// acknowledged, resolved) is a row of the alarm's timeline, written in the same config
// transaction as the change, with queued = false. The relay (outbox.go) routes unqueued
// transitions (routes.go) into the jobs database's notification outbox, idempotently, and the
// worker — in every dispatcher process — claims due rows with SKIP LOCKED and sends them
// through a channel (channels.go, deliver_*.go), retrying with backoff under the same
// webhook-id.
//
// The module reads only its own tables. Facts without an event of their own (a database that
// does not answer, a pool near its limit, no dispatcher holding the lock, a silent ingest node,
// a scanner under pressure) are checked periodically by checks.go through the kernel's pools
// and the other modules' exported Go APIs.
package alarms
