import { help } from '../../lib/help';

export default help({
  path: '/hosts/:address',
  title: 'Host',
  group: 'Results',
  summary: 'Everything known of one address: per scanner, every port ever seen open there, with when it was first seen, last seen and closed.',
  about: [
    'Reach it from the search box at the top (type an address), or from an address anywhere in the results.',
    'Each scanner’s view is separate: a port may be open from one vantage point and closed from another. A span closes when a later scan had the same scanner probe the port and find it closed; a scan that did not probe it says nothing either way.',
  ],
  scopes: [{ scope: 'results:view', allows: 'see the host’s history' }],
  fields: [
    { name: 'Port / Service', description: 'Every port ever seen open at the address.' },
    { name: 'First seen', description: 'The scan that first found it open, in this span.' },
    { name: 'Last seen', description: 'The latest scan that found it open, in this span.' },
    { name: 'Closed', description: 'The first later scan that found it closed; open when it has not closed.' },
    { name: 'Over time', description: 'A bar per span from first seen to closed (or now).' },
  ],
  howto: [{ title: 'Look an address up', steps: ['Type it in the search box at the top and press Enter.'] }],
  gotchas: ['Only completed scans count.'],
  api: ['GET /api/v1/results/host', 'GET /api/v1/search'],
});
