import { help } from '../../lib/help';

export default help({
  path: '/scans/:id',
  title: 'Scan',
  group: 'Scans',
  summary: 'One scan: live progress while it runs, the scope it froze at launch, its jobs, and links to its results, its diff and its vantage comparison.',
  about: [
    'While the scan is pending or running, the page asks for its progress every two seconds (only while the tab is visible) and stops when the scan ends. Progress is computed from its jobs: scanners report every 10 seconds, so figures move in steps.',
    'The scope shown is the one frozen at launch: the template version, the address intervals after exclusions, the merged ports, the scanners and the timing. Editing the template later does not change it.',
    'A job that failed or was cancelled is marked partial: the open ports it found are kept, but it counts as covering nothing, so a diff never reports its unscanned ports as closed.',
    'For a scan run by scanner groups (vantage mode) the vantage comparison lists every open port with the scanners that saw it and those that probed it and found it closed: ports only some vantage points reach are highlighted.',
  ],
  scopes: [
    { scope: 'scans:view', allows: 'see the scan, its progress, scope and jobs' },
    { scope: 'scans:execute', allows: 'cancel it' },
    { scope: 'results:view', allows: 'open its results, its diff and its vantage comparison' },
  ],
  fields: [
    { name: 'Hosts', description: 'Addresses finished, over addresses to scan (a vantage scan counts each scanner’s pass).' },
    { name: 'Ports probed', description: 'Connection attempts made, over addresses × ports.' },
    { name: 'Jobs', description: 'Done over total; active ones are leased by a scanner, queued ones wait for one; failed ones keep their partial results.' },
    { name: 'Rate', description: 'Connection attempts per second since the scan started.' },
    { name: 'ETA', description: 'When it should end at the current rate (your time zone; UTC on hover); unknown until the first progress report.' },
    { name: 'Attempts', description: 'How many times the job was handed out: a job whose scanner went silent is re-queued.' },
  ],
  howto: [
    { title: 'Stop a scan', steps: ['Press Cancel scan and confirm. Running jobs stop when their scanner next reports; what they found is kept.'] },
    { title: 'See what changed since the last scan', steps: ['Press Diff against previous, or pick another scan of the template under Compare with and press Compare.'] },
    { title: 'See what each vantage point reaches', steps: ['On a vantage scan, open Vantage comparison below the jobs; tick Only ports some scanners miss to narrow it.'] },
  ],
  gotchas: [
    'A scan with failed jobs still completes; its `failed` count says how many jobs kept only partial results.',
    'The diff needs an earlier completed scan of the same template (`no_earlier_scan` otherwise).',
  ],
  api: ['GET /api/v1/scans/{id}', 'POST /api/v1/scans/{id}/cancel', 'GET /api/v1/scans/{id}/vantage', 'GET /api/v1/scans'],
});
