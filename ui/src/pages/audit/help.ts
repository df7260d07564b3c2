import { help } from '../../lib/help';

export default help({
  path: '/audit',
  title: 'Audit log',
  group: 'Audit',
  summary: 'Every change to mipo, every sign-in and every sensitive read, with who, when, from where and exactly what changed.',
  about: [
    'The audit log is written by the server in the same database transaction as the change it records, before the response is sent: no change exists without its record. Records are append-only; nobody, not even the owner, can change or delete them — and neither can mipo’s own database role, which may only add and read records (the tables belong to a separate owner role that runs the migrations).',
    'Each record is chained to the one before it by a keyed hash (HMAC-SHA256 under MIPO_AUDIT_KEY, which lives in .mipo.env, not in the database), so nobody with only the database can rewrite a record or append one that fits. Shortly after records are written (and every 10 seconds) mipo also writes a checkpoint — how many records, the last one’s hash, the time, itself keyed — into the jobs database. Verify chain recomputes the chain, holds it against every checkpoint, and reports the first record that does not fit, or a missing tail (“the checkpoint says 812 records …, the table has 809”).',
    'Records written before an installation had MIPO_AUDIT_KEY carry unkeyed hashes; the first checkpoint after the upgrade vouches for them, and any unkeyed record after it is reported as forged.',
    'Filters are part of the page address, so a filtered view can be bookmarked or handed to an auditor; Export downloads exactly the records the filters select.',
  ],
  scopes: [
    { scope: 'audit:view', allows: 'read the log and verify the chain' },
    { scope: 'audit:export', allows: 'download records as JSON Lines or CSV' },
  ],
  fields: [
    { name: 'Time', description: 'When the change was committed, in your browser’s time zone; hover for the exact UTC time.' },
    { name: 'Actor', description: 'Who acted: a user (session), a token (automation, named), a scanner, or `system` (mipo’s own jobs).' },
    { name: 'Action', description: 'What was done, as `resource.verb`: `user.create`, `role.update`, `session.login` …' },
    { name: 'Resource', description: 'The type and the name of what was acted on, as it was called at the time of the change (a renamed template keeps its old name on its older records; a deleted role is still named). Hover for its id; the name links to every record about that resource. Records from before names were kept show the shortened id instead.' },
    { name: 'Outcome', description: '`success`, or `failure` for refused attempts such as a wrong password.' },
    { name: 'Changes', description: 'The field-level diff: each field with its old and new value. Secrets are never shown, only that they changed.' },
    { name: 'Hash', description: 'The record’s link in the chain: HMAC-SHA256 under MIPO_AUDIT_KEY over the record (its resource name too, where it has one) and the previous record’s hash.' },
    { name: 'Source', description: 'The client address (behind a trusted proxy, the forwarded one) and browser.' },
  ],
  howto: [
    { title: 'Find who changed something', steps: ['Set Resource type (e.g. `template`, `scanner` or `user`); for a type with a list, pick the resource by name, for others paste its id.', 'Open a record’s Changes to see old → new for each field.'] },
    { title: 'Hand evidence to an auditor', steps: ['Filter to the time window and actions asked for.', 'Press Export JSONL (for a SIEM) or Export CSV (for a spreadsheet).', 'Run Verify chain and note the result with the export.'] },
    { title: 'Look at failed sign-ins', steps: ['Set Action to `session.login` and Outcome to failure.', 'Press 7 days to see only the last week.'] },
    { title: 'See everything about one user, role or token', steps: ['Press its name in the Resource column: the log narrows to that resource, whatever it was called since.'] },
  ],
  gotchas: [
    'Times are shown in your browser’s time zone, with the exact UTC time on hover (exports and the API give UTC); From and To are read in your time zone too, which their labels name.',
    'Action takes the exact action name; the list of names in use grows with each module.',
    'An export can be large: narrow the time window first.',
    'In the CSV export a cell that begins with =, +, -, @, a tab or a carriage return starts with a single quote, so a spreadsheet shows it as text instead of running it as a formula (a failed sign-in’s username is whatever the stranger typed).',
    'A tail cut off before the next checkpoint (within a second of its writing), or cut together with the checkpoints by a superuser of both databases, is caught only by a checkpoint kept outside them (a copy of GET /api/v1/audit/verify’s checkpoint, kept with your exports).',
    'Without `users:view` (the viewer role, for one) the log shows people’s names (a user record’s resource name among them), email addresses, source addresses and browsers as [hidden], and the Actor filter matches actor ids only: the viewer role promises no user profiles, and the log keeps them.',
  ],
  api: ['GET /api/v1/audit', 'GET /api/v1/audit/export', 'GET /api/v1/audit/verify'],
});
