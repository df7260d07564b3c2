// Package app is mipo's kernel: configuration and secrets, roles, the module registry and its
// lifecycle, the HTTP server and its middleware chain, the three database pools and their
// migrations, the event bus, and the embedded PostgreSQL.
//
// The kernel knows no domain. Modules (in modules/) register themselves in init() with
// Register, and the kernel mounts those whose roles were asked for, in dependency order.
// Adding a module never touches a file in this package.
//
// Rules the kernel enforces for every module:
//   - every route declares who may call it (a scope, SignedIn, ScannerKey or Public);
//   - every state-changing /api/v1 request runs in one config-database transaction that must
//     carry at least one audit record, committed before the response is written;
//   - errors leave as {"error": {"code", "message", "field"}}, and a 5xx never leaks internals.
package app
