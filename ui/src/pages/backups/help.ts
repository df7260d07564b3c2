import { help } from '../../lib/help';

export default help({
  path: '/backups',
  title: 'Backups',
  group: 'Administration',
  summary: 'Encrypted backups of the config and results databases: make one now, see each with its manifest, verify it, and restore it.',
  about: [
    'Two kinds of backup run on independent schedules: config (the config and jobs databases, whole) and results (a full backup, then incrementals holding only what was committed since the one before; a restore replays the chain).',
    'Each database is read in one consistent snapshot, compressed and encrypted with `MIPO_BACKUP_KEY` (AES-256-GCM in authenticated chunks). The manifest lists every part with its SHA-256, the row counts, the migration versions and the audit chain\'s head, and is signed.',
    'A backup without its key cannot be restored. Run `mipo backup export-key` once and keep what it prints apart from the backups (a password manager, a safe, another site).',
    'A restore checks every manifest and checksum first, loads fresh copies of the databases, checks their row counts and audit chain, and only then switches. If anything fails, the running installation stays as it was.',
  ],
  scopes: [
    { scope: 'backups:view', allows: 'see backups, their manifests and progress, and verify one' },
    { scope: 'backups:create', allows: 'make a backup now' },
    { scope: 'backups:restore', allows: 'restore a backup over the running installation' },
    { scope: 'backups:manage', allows: 'change schedules, retention and S3 replication, and read the S3 secret key (audited)' },
  ],
  fields: [
    { name: 'Backup', description: 'The backup\'s id: when it was made (UTC), its kind and a random suffix.' },
    { name: 'Kind', description: 'config (users, roles, audit log, scan configuration, scanners, scans; and the jobs database) or results (every observation).' },
    { name: 'Type', description: 'full, or incremental on the backup before it.' },
    { name: 'Size', description: 'The encrypted parts\' total size.' },
    { name: 'Rows', description: 'Rows the backup\'s parts hold (for an incremental, only the new ones).' },
    { name: 'Source', description: 'Local backups are in the backup role\'s folder (`MIPO_BACKUP_DIR`); S3 lists the replication bucket.' },
    { name: 'Preset', description: 'When each kind runs: hourly, daily, weekly or monthly (UTC). A run more than 15 minutes late raises the "Backup missed or failed" alarm.' },
    { name: 'Retention (days)', description: '1 to 365: older backups are deleted after each backup, locally; a full backup stays while a kept incremental needs it.' },
    { name: 'Endpoint, Bucket, Prefix, Region', description: 'The S3-compatible store (AWS S3, MinIO, Backblaze B2, Wasabi …): host[:port], bucket, a folder inside it, and the region.' },
    { name: 'Access key, Secret key', description: 'Credentials for the bucket; the secret key is stored encrypted with `MIPO_SECRET_KEY` and never shown on this page.' },
    { name: 'S3 retention (days)', description: '1 to 365: backups older than this are deleted from the bucket after each upload. A failed upload raises the "Backup replication failed" alarm.' },
    { name: 'Progress', description: 'The running backup or restore: its step and how much of the parts it has processed.' },
  ],
  howto: [
    { title: 'Make a backup now', steps: ['Press Back up config or Back up results.', 'The new backup appears in the list with its size; open Manifest to see what it holds.'] },
    { title: 'Schedule backups and replicate them to S3', steps: ['Under Schedules and retention, pick each kind\'s preset and how many days to keep its backups (1 to 365).', 'Under Replication to S3, tick the box and give endpoint, bucket, prefix, region and keys; the secret key is stored encrypted.', 'Press Save backup settings. The change is audited; reading the secret key back (GET /api/v1/backups/settings/s3-secret) is audited too.'] },
    {
      title: 'Restore a backup',
      steps: [
        'Choose Local or S3, then press Restore on the backup.',
        'Type the installation\'s name to confirm, and press Restore.',
        'Watch the progress; when it says done, the installation runs on the restored data. Sign in again if your session was made after the backup.',
      ],
    },
  ],
  gotchas: [
    'Everything changed since the backup is replaced, including users, sessions and the audit log (which then records the restore).',
    'A backup made with another installation\'s key is listed but cannot be restored here: restore it with `mipo restore --key-file`.',
    'Restoring a results incremental brings its whole chain back: the full backup and every incremental up to it must be present.',
  ],
  api: [
    'GET /api/v1/backups',
    'GET /api/v1/backups/{id}',
    'POST /api/v1/backups',
    'POST /api/v1/backups/{id}/verify',
    'POST /api/v1/backups/restore',
    'GET /api/v1/backups/activity',
    'GET /api/v1/backups/settings',
    'PUT /api/v1/backups/settings',
    'GET /api/v1/backups/settings/s3-secret',
  ],
});
