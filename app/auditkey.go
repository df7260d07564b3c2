package app

import (
	"context"
	"sync/atomic"
)

// The audit key (MIPO_AUDIT_KEY) keys the audit log's chain. Records are written from
// requests, jobs, event handlers and commands of every role, so the key travels with the
// context like the principal does: the HTTP middleware and App.Start put it there. A process
// runs one installation, so the key of the last App built serves a context that lacks one.
type auditKeyCtx struct{}

var processAuditKey atomic.Pointer[[]byte]

// WithAuditKey returns ctx carrying the audit key.
func WithAuditKey(ctx context.Context, key []byte) context.Context {
	return context.WithValue(ctx, auditKeyCtx{}, key)
}

// AuditKeyFrom returns the audit key of ctx, else the process's; nil when there is none (a
// context given a nil key on purpose writes as releases before the key did: tests of the
// upgrade only).
func AuditKeyFrom(ctx context.Context) []byte {
	if k, ok := ctx.Value(auditKeyCtx{}).([]byte); ok {
		return k
	}
	if k := processAuditKey.Load(); k != nil {
		return *k
	}
	return nil
}
