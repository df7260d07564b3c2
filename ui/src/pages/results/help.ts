import { help } from '../../lib/help';

export default help({
  path: '/results',
  title: 'Results',
  group: 'Results',
  summary: 'Every open port ever observed: query the history by subnet, ports, scanner, scan and time window, and export it as CSV or JSON.',
  about: [
    'Each row is one observation: a scanner found a port open on an address, at a time, during a scan. Observations are kept indefinitely by default, as compliance evidence.',
    'Subnet matches by containment: `10.1.0.0/16` finds every address inside it, IPv4 or IPv6 alike. Ports take a port list such as `22,80,8000-8100`.',
    'The newest observations come first. Pages are cut by position in time, so paging stays fast over years of history; the page position is in the address, so Previous works after a reload.',
    'Each port is labelled with the port catalog’s service name.',
  ],
  scopes: [
    { scope: 'results:view', allows: 'query the history' },
    { scope: 'results:export', allows: 'download it as CSV or JSON (each export is written to the audit log)' },
  ],
  fields: [
    { name: 'Observed', description: 'When the scanner found the port open, in your time zone (UTC on hover).' },
    { name: 'Address / Port', description: 'Where it was open; the address links to its per-port timeline.' },
    { name: 'Service', description: 'The port catalog’s name for the port, such as `https` or `postgresql`.' },
    { name: 'Scanner', description: 'The scanner that saw it: in a vantage scan each scanner’s observations are separate rows.' },
    { name: 'RTT', description: 'How long the connection took to be accepted, in milliseconds.' },
  ],
  howto: [
    { title: 'What is open in a network right now', steps: ['Type the network in Subnet (for example `192.0.2.0/24`).', 'Press 24 h, or open the latest scan and press Results.'] },
    { title: 'Where is a service exposed', steps: ['Type its ports in Ports (for example `3389` or `5432,3306`).', 'Narrow by Subnet or Scanner as needed.'] },
    { title: 'Hand the evidence over', steps: ['Set the filters.', 'Press Export CSV or Export JSON: the file holds every matching observation, not only this page.'] },
  ],
  gotchas: [
    'A closed port is not an observation: to see when something closed, use Diff or the address’s Timeline.',
    'Times are in your browser’s time zone, the exact UTC time on hover; the From and To fields are read in your time zone too, which their labels name.',
  ],
  api: ['GET /api/v1/results', 'GET /api/v1/results/export'],
});
