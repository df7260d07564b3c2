import { help } from '../../lib/help';

export default help({
  path: '/subnets',
  title: 'Subnets',
  group: 'Configuration',
  summary: 'Named IPv4 and IPv6 networks in CIDR notation: what scan templates and subnet groups are built from.',
  about: [
    'A subnet is a named network such as `10.20.0.0/16` or `2001:db8:5::/48`. Templates and subnet groups refer to subnets by id, not by copy, so renaming a subnet or correcting its CIDR changes it everywhere it is used at once.',
    'mipo is strict about notation, because a lenient parser widens or narrows what is scanned by surprise: `10.0.0.1/24` has host bits set and is refused with the fix offered (`10.0.0.0/24`), and an address without a prefix length is refused rather than read as a single host.',
    'The address count is exact, network and broadcast addresses included, because scanners try every address. Counts past 2^48, which only IPv6 reaches, are written as powers of two: a /64 holds 2^64 addresses, a /64 and a /24 together 2^64 + 256; hover over a count for every digit.',
    'Every change is a new version: History shows each version, who made it and when, and what changed. Scans record which version of everything they resolved.',
  ],
  scopes: [
    { scope: 'targets:view', allows: 'see subnets, their history and what uses them' },
    { scope: 'targets:write', allows: 'create, change and delete subnets' },
  ],
  fields: [
    { name: 'Name', description: 'Unique among subnets, ignoring case; up to 64 characters.' },
    { name: 'CIDR', description: 'An IPv4 or IPv6 network, such as `10.0.0.0/24` or `2001:db8::/48`, without host bits. Checked as you type.' },
    { name: 'Addresses', description: 'How many addresses the subnet holds, exactly.' },
    { name: 'Tags', description: 'Labels to find subnets by, separated by commas: `prod, dmz`.' },
    { name: 'Used by', description: 'Subnet groups and templates that refer to the subnet. It cannot be deleted while any do.' },
  ],
  howto: [
    { title: 'Add a subnet', steps: ['Press New subnet.', 'Name it and type its CIDR; the address count appears under the field.', 'If mipo says the CIDR has host bits set, press the suggested fix.', 'Press Create subnet.'] },
    { title: 'Find the subnets holding an address', steps: ['Type the address into Contains; the list shows every subnet that holds it.'] },
    { title: 'See what changed', steps: ['Press History on the subnet.', 'Pick two versions to compare, or press Changes on a version.'] },
  ],
  gotchas: [
    'Deleting a subnet that a group or template uses is refused; the message names them. Remove it there first.',
    'Subnets may overlap: scopes are merged, so an address in two subnets is scanned once.',
    'An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) is stored as the IPv4 network it names.',
  ],
  api: [
    'GET /api/v1/subnets', 'POST /api/v1/subnets', 'GET /api/v1/subnets/{id}', 'PATCH /api/v1/subnets/{id}', 'DELETE /api/v1/subnets/{id}',
    'GET /api/v1/subnets/check', 'GET /api/v1/subnets/{id}/versions', 'GET /api/v1/subnets/{id}/versions/{version}', 'GET /api/v1/subnets/{id}/diff',
  ],
});
