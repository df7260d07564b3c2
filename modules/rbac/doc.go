// Package rbac is mipo's identity and access control: the first-run setup that creates the
// owner, local accounts with argon2id passwords, server-side sessions, API tokens, roles built
// from resource:action scopes, and the guard that checks every /api/v1 route's scope before
// its handler runs.
//
// Access control lives here, in API middleware, never only in the UI. The scope catalogue in
// scopes.go is the one list of scopes; a route that names a scope not in it fails start-up.
package rbac
