import { help } from '../../lib/help';

export default help({
  path: '/audit',
  title: 'Audit log',
  group: 'Audit',
  summary: 'Every change to mipo, every sign-in and every sensitive read, with who, when, from where and exactly what changed.',
  about: [
    'The audit log is written by the server in the same database transaction as the change it records, before the response is sent: no change exists without its record. Records are append-only; nobody, not even the owner, can change or delete them.',
    'Each record is chained to the one before it by a hash. Verify chain recomputes the chain and reports the first record that does not fit, which is how tampering with the database behind mipo’s back shows up.',
    'Filters are part of the page address, so a filtered view can be bookmarked or handed to an auditor; Export downloads exactly the records the filters select.',
  ],
  scopes: [
    { scope: 'audit:view', allows: 'read the log and verify the chain' },
    { scope: 'audit:export', allows: 'download records as JSON Lines or CSV' },
  ],
  fields: [
    { name: 'Time', description: 'When the change was committed, in UTC.' },
    { name: 'Actor', description: 'Who acted: a user (session), a token (automation, named), a scanner, or `system` (mipo’s own jobs).' },
    { name: 'Action', description: 'What was done, as `resource.verb`: `user.create`, `role.update`, `session.login` …' },
    { name: 'Resource', description: 'The type and id of what was acted on; the id (shortened) links to every record about that resource.' },
    { name: 'Outcome', description: '`success`, or `failure` for refused attempts such as a wrong password.' },
    { name: 'Changes', description: 'The field-level diff: each field with its old and new value. Secrets are never shown, only that they changed.' },
    { name: 'Hash', description: 'The record’s link in the hash chain: a hash over the record and the previous record’s hash.' },
    { name: 'Source', description: 'The client address (behind a trusted proxy, the forwarded one) and browser.' },
  ],
  howto: [
    { title: 'Find who changed something', steps: ['Set Resource type (e.g. `user`) and, if you know it, paste the resource id.', 'Open a record’s Changes to see old → new for each field.'] },
    { title: 'Hand evidence to an auditor', steps: ['Filter to the time window and actions asked for.', 'Press Export JSONL (for a SIEM) or Export CSV (for a spreadsheet).', 'Run Verify chain and note the result with the export.'] },
    { title: 'Look at failed sign-ins', steps: ['Set Action to `session.login` and Outcome to failure.', 'Press 7 days to see only the last week.'] },
    { title: 'See everything about one user, role or token', steps: ['Press the short id in the Resource column: the log narrows to that resource.'] },
  ],
  gotchas: [
    'From and To are read as UTC, like every time mipo shows.',
    'Action takes the exact action name; the list of names in use grows with each module.',
    'An export can be large: narrow the time window first.',
    'Without `users:view` (the viewer role, for one) the log shows people’s names, email addresses, source addresses and browsers as [hidden], and the Actor filter matches actor ids only: the viewer role promises no user profiles, and the log keeps them.',
  ],
  api: ['GET /api/v1/audit', 'GET /api/v1/audit/export', 'GET /api/v1/audit/verify'],
});
