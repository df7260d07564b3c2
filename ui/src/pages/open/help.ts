import { help } from '../../lib/help';

export default help({
  path: '/open',
  title: 'Open now',
  group: 'Results',
  summary: 'Every port open now, one row per scanner, address and port, with when it was first and last seen: filter by subnet, subnet group, template, ports and scanner, sort and export.',
  about: [
    'A port is open now when the latest completed scan of a template found it open. Each scanner’s view is its own row, so a port reachable from two vantage points shows twice.',
    'First seen is the first time that scanner ever saw the port open; last seen is its latest sighting.',
    'Subnet takes a CIDR such as `10.1.0.0/16`; a bare address such as `127.0.0.1` means that one address (`/32`, or `/128` for IPv6).',
  ],
  scopes: [
    { scope: 'results:view', allows: 'see what is open now' },
    { scope: 'results:export', allows: 'download it as CSV or JSON (each export is written to the audit log)' },
  ],
  fields: [
    { name: 'Address', description: 'Links to the host page: everything known of that address.' },
    { name: 'Port / Service', description: 'The port and the port catalog’s name for it.' },
    { name: 'Scanner', description: 'The scanner that sees it open.' },
    { name: 'First seen / Last seen', description: 'When that scanner first and last saw it open, in your time zone (UTC on hover).' },
    { name: 'Latest scan', description: 'The latest scan that found it open.' },
  ],
  howto: [
    { title: 'Where is PostgreSQL exposed', steps: ['Type `5432` in Ports, or `postgresql` in the search box at the top.'] },
    { title: 'Hand over the list', steps: ['Set the filters.', 'Press Export CSV or Export JSON: the file holds every matching row, not only this page.'] },
  ],
  gotchas: ['A port that closed since the latest scan of its template is not here; its history is on the host page.', 'A template that never completed a scan contributes nothing.'],
  api: ['GET /api/v1/results/open', 'GET /api/v1/results/open/export'],
});
