import { help } from '../../lib/help';

export default help({
  path: '/health',
  title: 'Architecture',
  group: 'Health',
  summary: 'mipo watching itself: every part of the deployment drawn as its topology, coloured by its last check.',
  about: [
    'The page draws the deployment as it runs: the edge (reverse proxy) in front of the manager and the ingest nodes, ingest feeding the dispatcher, the backup service and the three databases (config, results, jobs), and beside them the DNS names and the TLS certificate.',
    'Every role process reports itself into the jobs database every 15 seconds; the manager probes the databases, the edge, DNS, the served certificate, the dispatcher\'s leadership and the backups\' schedule every 15 seconds. The page refreshes as often.',
    'A failing probe emits the event an alarm rule consumes (for example `database.jobs.unreachable`), so a red node comes with an open alarm, and the alarm resolves when the node turns green again.',
  ],
  scopes: [{ scope: 'health:view', allows: 'see the overview and every component page' }],
  fields: [
    { name: 'Colour', description: 'Green: ok. Amber (stale): no report or check for a while (45 seconds for a process). Red (down): the check failed, or silence three times as long. Grey: nothing known yet — or the jobs database, which holds the reports, does not answer.' },
    { name: 'Checked', description: 'When the component was last checked, or its process last reported.' },
    { name: 'Dispatcher', description: 'Which process leads the dispatcher (a singleton with hot standbys) and since when; red when no process holds the lock.' },
    { name: 'Backup', description: 'Red when a kind\'s latest scheduled backup failed or started late (missed), until the next success.' },
    { name: 'Connections', description: 'The arrows of the topology: who talks to whom.' },
  ],
  howto: [{ title: 'Find out why a node is red', steps: ['Click the node: its page shows the last check\'s detail (the error) and its figures over time.', 'Open Alarms for the alarm the failure opened.'] }],
  gotchas: [
    'When the jobs database is down, the process nodes turn grey (their reports live there) while the database probes, kept in the manager\'s memory, still show which database failed.',
    'Prometheus sees the same statuses and figures at `/metrics` (`mipo_health_component_up`, `mipo_health_probe_value`).',
    'Ingest nodes appear once they have served a request; a deployment that never had one shows a single grey Ingest node.',
  ],
  api: ['GET /api/v1/health/overview', 'GET /api/v1/health/components/{id}'],
});
