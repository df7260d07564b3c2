import { help } from '../../lib/help';

export default help({
  path: '/health/components/:id',
  title: 'Component health',
  group: 'Health',
  summary: 'One part of the deployment: its status, the detail of its last check, and each of its figures over time.',
  about: [
    'Every figure a process reports or a probe measures is kept: raw points for a day, 5-minute buckets for 30 days, hourly buckets for a year. Each bucket keeps the minimum, the average and the maximum, so a short spike survives downsampling.',
    'A chart draws the average as a line between the minimum and the maximum. Long windows are folded into about 500 buckets for the browser.',
  ],
  scopes: [{ scope: 'health:view', allows: 'see the component and its history' }],
  fields: [
    { name: 'Status', description: 'ok, stale, down or unknown, as on the architecture page.' },
    { name: 'Charts', description: 'Databases: `latency_ms`, `size_mb`, `pool_in_use` (and for results `row_estimate`). Edge: `latency_ms`. TLS: `days_left`. Backup: hours since each kind\'s last success.' },
    { name: 'Last check', description: 'The probe\'s or report\'s detail: the error of a failed check, the certificate\'s issuer, expiry and chain, the processes of a role, the dispatcher\'s leader.' },
  ],
  howto: [{ title: 'Look further back', steps: ['Choose a longer Window (up to a year); the page refreshes every 15 seconds.'] }],
  gotchas: ['A role process\'s own figures (CPU, memory, goroutines, requests) are under the component `process:<host:pid>`; the role\'s node lists its processes.'],
  api: ['GET /api/v1/health/components/{id}?hours=24'],
});
