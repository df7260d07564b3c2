import { help } from '../../lib/help';

export default help({
  path: '/alarms/routes',
  title: 'Alarm routes',
  group: 'Alarms',
  summary: 'Which transitions of which severities and rules go to which channel.',
  about: [
    'Each transition of an alarm — opened, escalated, acknowledged, resolved — goes to every channel with an enabled route that matches it: its transition, the alarm’s severity at that moment, and its rule. An empty list matches everything. A channel gets one notification per transition however many of its routes match.',
    'The first channel of an install gets a default route for critical and major alarms, so a fresh install with one channel hears about what matters.',
  ],
  scopes: [
    { scope: 'alarms:view', allows: 'see routes' },
    { scope: 'alarms:manage', allows: 'create, change and delete routes' },
  ],
  fields: [
    { name: 'Transitions', description: 'opened, escalated, acknowledged, resolved; none ticked means all.' },
    { name: 'Severities', description: 'The alarm’s severity at the transition; none ticked means all.' },
    { name: 'Rules', description: 'Which rules’ alarms; none ticked means all.' },
  ],
  howto: [
    { title: 'Page the on-call only for critical faults', steps: ['New route: its channel, severities critical, transitions opened and escalated.'] },
    { title: 'Send everything to the SIEM', steps: ['New route to the syslog channel with nothing ticked.'] },
  ],
  gotchas: ['Transitions of a snoozed rule or key go nowhere until the snooze ends; the alarm’s timeline says so.', 'A route to a disabled channel sends nothing.'],
  api: ['GET /api/v1/alarm-routes', 'POST /api/v1/alarm-routes', 'PATCH /api/v1/alarm-routes/{id}', 'DELETE /api/v1/alarm-routes/{id}'],
});
