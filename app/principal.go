package app

import (
	"context"
)

// Principal kinds: who is acting.
const (
	PrincipalUser    = "user"    // a person signed in with a session
	PrincipalToken   = "token"   // automation with a user's API token
	PrincipalScanner = "scanner" // a mipo-scanner with its API key
	PrincipalSystem  = "system"  // mipo itself: background jobs, the CLI
)

// A Principal is who a request (or a background job) acts as. Guards set it; the audit log
// reads it.
type Principal struct {
	Kind      string
	ID        string // user, token, scanner id; the job name for system
	UserID    string // the person behind a session or token
	Name      string // username, token name, scanner name
	Owner     bool   // the owner bypasses every scope check
	Scopes    map[string]bool
	SessionID string
}

// Can reports whether the principal holds a scope.
func (p *Principal) Can(scope string) bool {
	return p != nil && (p.Owner || p.Scopes[scope])
}

// System is the principal of mipo's own work.
func System(job string) *Principal { return &Principal{Kind: PrincipalSystem, ID: job, Name: job} }

// RequestMeta is what the audit log records about where a request came from.
type RequestMeta struct {
	RequestID string
	RemoteIP  string
	UserAgent string
	ViaProxy  bool // the connection comes from a trusted proxy (MIPO_TRUSTED_PROXIES)
}

type ctxKey int

const (
	principalKey ctxKey = iota
	metaKey
	changeKey
)

// WithPrincipal returns ctx acting as p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns who ctx acts as, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	return p
}

// WithRequestMeta returns ctx carrying request metadata.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, metaKey, m)
}

// RequestMetaFrom returns the request metadata of ctx (zero outside a request).
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(metaKey).(RequestMeta)
	return m
}
