import { help } from '../../lib/help';

export default help({
  path: '/changes',
  title: 'Changes',
  group: 'Results',
  summary: 'What opened and closed across every template in a time window (the last seven days unless you pick one), with a bar per day, filters and CSV or JSON export.',
  about: [
    'Each scan that finished in the window is compared with the previous completed scan of its template, counting only what both covered, as the diff does. A template’s first scan has nothing to compare with and adds no changes.',
    'The bars count ports opened (green) and closed (red) per day in your browser’s time zone; a bar links to its day.',
    'The exports hold exactly the rows of the list, in the same order: CSV for spreadsheets, JSON for scripts.',
  ],
  scopes: [
    { scope: 'results:view', allows: 'see the changes' },
    { scope: 'results:export', allows: 'download them as CSV or JSON (each download is audited)' },
  ],
  fields: [
    { name: 'From / To', description: 'The window, in your local time; empty To means now, empty From seven days before To. Kept in the address (?from=…&to=… in RFC 3339).' },
    { name: 'Template', description: 'Only the scans of one template.' },
    { name: 'Change', description: 'Opened, closed, or both.' },
    { name: 'Port / Subnet', description: 'Only one port, or addresses in one CIDR (a bare address means that address).' },
  ],
  howto: [
    { title: 'What changed this week', steps: ['Open Changes: the last seven days are shown.', 'Press Export CSV to hand the list on.'] },
    { title: 'What happened on one day', steps: ['Press that day’s bar: the window narrows to the day.'] },
  ],
  gotchas: ['One answer compares at most 500 scans; a wider window says it was cut short: narrow it or pick a template.'],
  api: ['GET /api/v1/results/changes', 'GET /api/v1/results/changes/export', 'GET /api/v1/scans/{id}/diff/export'],
});
