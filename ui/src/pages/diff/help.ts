import { help } from '../../lib/help';

export default help({
  path: '/diff',
  title: 'Diff',
  group: 'Results',
  summary: 'What opened and what closed: between two scans of a template, or between two points in time, per scanner, with service names.',
  about: [
    'A diff compares two scans of the same template. Opened: open in the later scan, not in the earlier one. Closed: open in the earlier scan, probed again in the later one and found closed.',
    'Only what both scans covered counts: an address or port outside one scan’s scope (the template changed, or a job failed and kept only partial results) is neither opened nor closed.',
    'For scans run from several vantage points (scanner groups), each scanner is compared with itself, so a change is listed under the scanner that saw it.',
    'Between two times compares the last completed scan of the template by the first time with the last completed scan by the second.',
    'A large diff arrives in pages of 1000 changes, in scanner, address and port order: Show more changes fetches the next page. The API does the same with limit and cursor (next_cursor), so a million changes never have to fit in one answer.',
  ],
  scopes: [
    { scope: 'results:view', allows: 'compute diffs' },
    { scope: 'scans:view', allows: 'pick scans by template and launch time' },
  ],
  fields: [
    { name: 'Later scan', description: 'The scan whose state is compared with an earlier one.' },
    { name: 'Earlier scan', description: 'Left empty: the previous completed scan of the same template.' },
    { name: 'From / To', description: 'Points in time, in your browser’s time zone (named on the label); the template’s last completed scan by each is compared. To defaults to now.' },
    { name: 'Opened / Closed', description: 'Per scanner: the address, the port and the port catalog’s service name.' },
  ],
  howto: [
    { title: 'What changed in the last scan', steps: ['Open the scan and press Diff against previous; or pick the template and its latest scan here and press Compare.'] },
    {
      title: 'What changed this month',
      steps: ['Switch to Between two times.', 'Pick the template, set From to the first of the month and leave To empty.', 'Press Compare.'],
    },
  ],
  gotchas: [
    'A template needs two completed scans to diff (`no_earlier_scan`, or `no_scan` for a time with no completed scan by then).',
    'The page address holds the comparison (`?scan=…&against=…` or `?template=…&from=…`), so a diff can be bookmarked or sent to a colleague.',
  ],
  api: ['GET /api/v1/scans/{id}/diff', 'GET /api/v1/scans/{id}/diff/export', 'GET /api/v1/results/diff', 'GET /api/v1/scans', 'GET /api/v1/scans/{id}'],
});
