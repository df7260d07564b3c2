// Package audit is mipo's append-only audit trail.
//
// Every state change is recorded in the same config-database transaction as the change itself,
// before the response is sent (the kernel refuses to commit a change that wrote no record).
// Sign-ins, sign-outs, session expiry and reads of sensitive resources are recorded too. Each
// record carries an HMAC-SHA256 under MIPO_AUDIT_KEY chained to the previous one, and keyed
// checkpoints of the head are kept in the jobs database, so Verify finds the first record that
// was altered, removed or forged, or the tail that was cut off, even by a database superuser
// who lacks the key.
//
// Other modules call Record (inside their change) and RecordNow (outside one) through
// auditapi, the contract this package fills in from its init, so none builds in its store
// code. This package must never update or delete a record: mipo's database role may only
// INSERT and SELECT it.
package audit
