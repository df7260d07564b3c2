import { help } from '../../lib/help';

export default help({
  path: '/scanners/health',
  title: 'Fleet health',
  group: 'Scanners',
  summary: 'Every scanner at a glance: online or offline, last heartbeat, CPU, memory and network I/O over time, and the jobs each runs.',
  about: [
    'Scanners send a heartbeat every 60 seconds with their host’s CPU use, memory in use and network counters. mipo keeps this history (30 days by default, MIPO_SCANNER_HISTORY_RETENTION) and draws it here, so a scanner running short of resources is seen before it drops jobs.',
    'Two minutes without a heartbeat marks a scanner offline and emits scanner.offline; the next heartbeat marks it online and emits scanner.online.',
  ],
  scopes: [{ scope: 'scanners:view', allows: 'see the fleet' }],
  fields: [
    { name: 'Status', description: 'online, offline or disabled; late: online, but its last heartbeat is over 2 minutes old (it goes offline at the next check).' },
    { name: 'not picking up jobs', description: 'Online, yet queued jobs it could lease (addressed to it, or in a pool it belongs to) have waited over 2 minutes: the row is highlighted. Look at its host, its logs, or its max_jobs.' },
    { name: 'CPU, Memory, Network', description: 'The curve over the chosen window, averaged in buckets, and the last heartbeat’s value.' },
    { name: 'Probes / CPU-s', description: 'Probes per CPU second of mipo-scanner itself, over the jobs it finished in the window: what scanning costs its host. Empty for a scanner whose jobs did not report their CPU time (older versions).' },
    { name: 'Jobs', description: 'The jobs it holds now (several at once, up to its max_jobs, sharing its capacity).' },
  ],
  howto: [{ title: 'Look further back', steps: ['Choose a longer Window; the page refreshes every 15 seconds.'] }],
  gotchas: ['Network I/O is the whole host’s (all interfaces but loopback), not only mipo-scanner’s.'],
  api: ['GET /api/v1/scanners/health', 'GET /api/v1/scanners/{id}/metrics'],
});
