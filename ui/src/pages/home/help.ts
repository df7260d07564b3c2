import { help } from '../../lib/help';

/** Whoever holds one of these sees the home page; anyone else lands on their first page. */
export const HOME_SCOPES = ['scans:view', 'scanners:view', 'results:view'];

export default help({
  path: '/',
  title: 'Home',
  group: 'Getting started',
  summary: 'The state at a glance: scanners online and offline, scans running, the last result of each template, what opened and closed this week, and what runs next.',
  about: [
    'The home page is the first page after sign-in. It reads one summary from the server and refreshes it every 15 seconds.',
    'Each part shows only what your scopes allow: scanners need `scanners:view`, scans and schedules `scans:view`, changes `results:view`. Someone with none of these lands on the first page of their navigation instead.',
    'What opened and closed comes from each completed scan compared with the previous completed scan of its template, counting only what both covered. A template’s first scan has nothing to compare with.',
  ],
  scopes: [
    { scope: 'scanners:view', allows: 'see how many scanners are online, offline and disabled' },
    { scope: 'scans:view', allows: 'see running scans, the latest result per template and the next scheduled runs' },
    { scope: 'results:view', allows: 'see the ports opened and closed over the last day and week' },
  ],
  fields: [
    { name: 'Scanners', description: 'Scanners online (heartbeat within 2 minutes), offline and disabled.' },
    { name: 'Last 24 h / Last 7 days', description: 'Ports opened (`+`) and closed (`−`) in the scans that completed in that window.' },
    { name: 'Per day', description: 'One pair of bars per UTC day: opened and closed. Each day links to that day’s changes.' },
    { name: 'Latest result per template', description: 'Each template’s latest finished scan: how many ports it found open, `+opened −closed` against the previous scan, and the first ports that changed, each linking to the diff.' },
    { name: 'Next scheduled runs', description: 'The enabled schedules, soonest first.' },
    { name: 'Open alarms', description: 'Alarms not yet resolved (needs `alarms:view`).' },
  ],
  howto: [
    { title: 'See what changed today', steps: ['Press today’s bar in the chart: the changes page opens on that day.'] },
    { title: 'Look at one port that opened', steps: ['In Latest result per template, press the port: the diff of that scan opens.'] },
  ],
  gotchas: ['Days are UTC days.', 'A scan’s outcome is worked out a moment after it completes; until then it shows as counting.'],
  api: ['GET /api/v1/home'],
});
