// Package audit is mipo's append-only audit trail.
//
// Every state change is recorded in the same config-database transaction as the change itself,
// before the response is sent (the kernel refuses to commit a change that wrote no record).
// Sign-ins, sign-outs, session expiry and reads of sensitive resources are recorded too. Each
// record carries a SHA-256 hash chained to the previous one, so Verify finds the first record
// that was altered or removed, even by a database superuser.
//
// Other modules call Record (inside their change) and RecordNow (outside one). This package
// must never update or delete a record: the database refuses it anyway.
package audit
