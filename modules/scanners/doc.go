// Package scanners is the manager's side of the scanner fleet: the registry of mipo-scanner
// agents, their provisioning tokens and API keys, source-address bindings, soft-disable and key
// rotation, scanner groups, firewall allowlist exports, heartbeat history and offline detection.
//
// It owns its config-database tables (scanners, scanner_tokens, scanner_groups, …). Other
// modules never read them: ingest authenticates scanners, registers them and records their
// heartbeats through this module's contract, scannersapi (Authenticate, Register, Heartbeat,
// filled in by this package), and the dispatcher picks scanners through Get, Healthy and
// GroupMembers there. State changes emit scanner.online, scanner.offline and
// scanner.registered events (subject: the scanner id).
//
// Keys and tokens are credentials in app's form (msk_…, mpt_…): only a SHA-256 of their secret
// part is stored, compared in constant time; a key is shown once, when it is made.
package scanners
