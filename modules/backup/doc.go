// Package backup makes encrypted, verifiable backups of mipo's three databases, replicates them
// to S3, and restores them.
//
// A backup is a folder: manifest.json plus one part per table. A part is the table's COPY
// stream, compressed with zstd and encrypted with Tink's streaming AEAD (AES-256-GCM-HKDF in
// numbered 1 MiB segments, the last one marked), so a flipped byte, a truncated part and
// reordered segments all fail to decrypt. Each part's associated data is its backup id and
// name, so parts cannot be swapped between backups either. The manifest lists every part with
// its SHA-256, the row counts, the migration versions and the audit chain's head, and is signed
// with an HMAC key derived from MIPO_BACKUP_KEY.
//
// Results backups are incremental: a full one, then deltas holding the rows committed since
// the one before (by transaction snapshot, bounded by time so a delta never scans years).
//
// A restore never touches the live tables until everything checked: it verifies the manifest
// and every checksum, loads each database into a fresh schema beside the live one, checks the
// row counts and the audit chain there, and only then swaps the schemas.
//
// This package must never write a backup without encrypting it, and never restore a part whose
// checksum or authentication tag fails.
package backup
