import { help } from '../../lib/help';

export default help({
  path: '/scans',
  title: 'Scans',
  group: 'Scans',
  summary: 'Every scan, running or finished: its template, scanners, status, start, end and completion; launch a template now.',
  about: [
    'A scan is one run of a scan template. Launching records the scan at once with its scope frozen: the template’s version, its subnets and groups resolved to address intervals minus exclusions, its merged ports and its scanners. Later changes to the template do not change a scan already launched.',
    'The dispatcher then cuts the scope into jobs. A template with a scanner pool spreads batches over the pool’s healthy scanners; a template with scanner groups (vantage mode) gives every scanner of each group the whole scope, so what each network vantage point sees can be compared.',
    'Launching a template group records one scan per template of the group.',
    'The table is sorted and filtered by the server; the filters are part of the page address, so a view can be bookmarked or shared. Completion of running scans is live from their jobs.',
  ],
  scopes: [
    { scope: 'scans:view', allows: 'see this list and each scan’s progress' },
    { scope: 'scans:execute', allows: 'launch scans and cancel them' },
    { scope: 'templates:view', allows: 'pick a template by name (filter and launch)' },
    { scope: 'scanners:view', allows: 'see scanners by name and filter by scanner' },
  ],
  fields: [
    { name: 'Template', description: 'The template launched, with the version its scope was frozen from (`v3`).' },
    { name: 'Scanners', description: 'The scanners given the scan’s jobs; `vantage` marks a scan where each scanner scanned everything.' },
    { name: 'Status', description: '`pending` (waiting for the dispatcher), `running`, `completed`, `failed` (no scanner took it, or every job failed) or `cancelled`.' },
    { name: 'Launched', description: 'When it was launched, in your time zone (UTC on hover); Started and Finished follow. The date filters apply to the launch time.' },
    { name: 'Completion', description: 'Connection attempts made, as a share of addresses × ports. Jobs that failed are counted in `failed`; their partial results are kept.' },
  ],
  howto: [
    {
      title: 'Launch a scan now',
      steps: [
        'Press Launch scan.',
        'Pick a template, or switch to Template group to launch every template of a group.',
        'Press Launch (or Enter). A single scan opens on its page, with live progress.',
      ],
    },
    { title: 'Find the running scans', steps: ['Pick `running` (or `pending or running`) in Status.', 'Bookmark the page to come back to the same view.'] },
    { title: 'See what a scanner did last week', steps: ['Pick the scanner in Scanner.', 'Press 7 days, or set From and To (in your time zone, which their labels name).'] },
  ],
  gotchas: [
    'A scope larger than the limit is refused before anything is recorded (`scope_too_large`): the message says how many addresses × ports it holds and the limit. Narrow the template, or split it.',
    'A template without scanners, or whose scanners are all disabled, cannot be launched.',
    'Cancelling stops the jobs still running; what they found so far is kept and marked partial.',
  ],
  api: ['GET /api/v1/scans', 'POST /api/v1/scans', 'GET /api/v1/templates', 'GET /api/v1/template-groups', 'GET /api/v1/scanners'],
});
