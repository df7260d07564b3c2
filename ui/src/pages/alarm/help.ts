import { help } from '../../lib/help';

export default help({
  path: '/alarms/:id',
  title: 'Alarm',
  group: 'Alarms',
  summary: 'One alarm: what happened, how often, its timeline of transitions, and every notification sent about it.',
  about: [
    'The timeline lists each transition — opened, escalated, acknowledged, resolved — with who or what caused it and what routing did with it: how many channels it went to, or why it went nowhere (no route matched, or a snooze held it).',
    'Notifications lists every attempt to deliver those transitions, with the channel and the result. A notification that failed is retried with growing waits, under the same webhook-id.',
  ],
  scopes: [
    { scope: 'alarms:view', allows: 'see the alarm, its timeline and its notifications' },
    { scope: 'alarms:manage', allows: 'acknowledge or resolve it' },
  ],
  fields: [
    { name: 'Rule', description: 'The built-in rule that opened it, and its id.' },
    { name: 'Subject', description: 'What it is about: a scanner id, a database, a template, a channel id.' },
    { name: 'Count', description: 'Reports of the fault while this occurrence was unresolved.' },
    { name: 'Previous occurrence', description: 'The same key, resolved before this one opened.' },
    { name: 'Timeline', description: 'Each transition with its time, severity, actor, comment and routing note.' },
  ],
  howto: [
    { title: 'Take an alarm', steps: ['Press Acknowledge, add a comment (a ticket, who is on it), confirm. It stops escalating.'] },
    { title: 'Close a fault that sends no recovery', steps: ['Press Resolve, say why, confirm. If the fault is reported again, a new occurrence opens.'] },
  ],
  gotchas: ['Resolving by hand does not fix anything: if the cause is still there, its next report opens the alarm again.'],
  api: ['GET /api/v1/alarms/{id}', 'POST /api/v1/alarms/{id}/acknowledge', 'POST /api/v1/alarms/{id}/resolve', 'GET /api/v1/alarm-deliveries?alarm_id={id}'],
});
