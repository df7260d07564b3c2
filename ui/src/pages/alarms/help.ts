import { help } from '../../lib/help';

export default help({
  path: '/alarms',
  title: 'Alarms',
  group: 'Alarms',
  summary: 'Faults mipo found in itself and its scanner fleet: open, acknowledged and resolved, each one deduplicated by its key.',
  about: [
    'mipo monitors its own parts — the three databases and their connection pools, the dispatcher, the ingest nodes, the scanners, TLS, backups and DNS — through built-in rules. When a rule’s event arrives, an alarm opens; a repeat of a fault that is still unresolved bumps its count and last-seen time instead of opening another.',
    'An alarm is open until someone acknowledges it (they are on it) and resolved when its recovery event arrives — a scanner heartbeats again, a database answers again — or by hand. A fault that comes back after it resolved opens a new occurrence, linked to the previous one.',
    'An open alarm that nobody acknowledges escalates one severity up after its rule’s escalation window, and again after each further window.',
    'Every transition (opened, escalated, acknowledged, resolved) is routed to the notification channels whose routes want it.',
  ],
  scopes: [
    { scope: 'alarms:view', allows: 'see alarms and their timelines' },
    { scope: 'alarms:manage', allows: 'acknowledge and resolve alarms' },
  ],
  fields: [
    { name: 'Severity', description: 'critical, major, minor, warning or info: the rule’s severity (or the override), raised by escalation.' },
    { name: 'State', description: 'open (nobody has acknowledged it), acknowledged (someone is on it; it no longer escalates) or resolved.' },
    { name: 'What happened', description: 'The latest report of the fault, in a sentence.' },
    { name: 'Component', description: 'The part of mipo it is about: database, scanner, dispatcher, ingest, tls, backup, dns or notifications.' },
    { name: 'Count', description: 'How many times the fault was reported while this occurrence was unresolved.' },
    { name: 'First seen, Last seen', description: 'When this occurrence opened, and the latest report of it.' },
  ],
  howto: [
    { title: 'Acknowledge alarms', steps: ['Tick the open alarms you are taking (or Select every open alarm on this page).', 'Press Acknowledge selected, add a comment if you like, and confirm.'] },
    { title: 'See what is wrong now', steps: ['Set State to unresolved; sort by Severity.'] },
    { title: 'Follow one alarm', steps: ['Open its summary: its page shows every transition and where each was sent.'] },
  ],
  gotchas: [
    'Acknowledging does not resolve: the alarm resolves on its recovery event. Faults that send none (a failed scan) can be resolved by hand on the alarm’s page.',
    'A snoozed rule or key still opens and bumps alarms here; only the notifications are held back.',
    'The count in the navigation is the number of open (unacknowledged) alarms.',
  ],
  api: ['GET /api/v1/alarms', 'GET /api/v1/alarms/summary', 'POST /api/v1/alarms/acknowledge', 'POST /api/v1/alarms/{id}/acknowledge'],
});
