import { help } from '../../lib/help';

export default help({
  path: '/scanners/:id',
  title: 'Scanner',
  group: 'Scanners',
  summary: 'One scanner: its binding, key, groups and capacity, CPU, memory and network I/O over time, and its connection history.',
  about: [
    'Every request this scanner makes is checked: its API key (stored only as a hash), that it is enabled, and that it comes from inside its binding. Refused requests are in the audit log as scanner.request_refused.',
    'Metrics come with each heartbeat, every 60 seconds: CPU use over the last minute, memory in use, the host’s network counters, from which mipo computes the rates shown, and (on Linux) how many of its file descriptors the scanner process has open.',
  ],
  scopes: [
    { scope: 'scanners:view', allows: 'see the scanner, its metrics and history' },
    { scope: 'scanners:manage', allows: 'edit, disable, enable and rotate its key' },
  ],
  fields: [
    { name: 'Binding', description: 'An address (192.0.2.10), a CIDR (192.0.2.0/24) or an ASN (AS64500, needs the ASN database MIPO_ASN_DATABASE).' },
    { name: 'API key', description: 'Its prefix only; the key is shown once, when it is made or rotated. Seeing it here is an audited read of the key prefix.' },
    { name: 'Capacity', description: 'What it said it can do: connection attempts in flight and per second, and its file-descriptor limit.' },
    { name: 'Connection history', description: 'When it registered, went offline (2 minutes without a heartbeat), came back, was disabled or enabled.' },
  ],
  howto: [
    { title: 'Change its binding', steps: ['Press Edit.', 'Type an address, CIDR or ASN in Binding and press Save. Its next request is checked against it.'] },
    { title: 'Take it out of service', steps: ['Press Disable and confirm. It keeps its key and history; press Enable to bring it back.'] },
    {
      title: 'Rotate its key',
      steps: ['Press Rotate key and confirm: the old key stops working at once.', 'Copy the new key, or the command shown, and run it on the scanner’s host: it writes the key file and restarts the service.'],
    },
  ],
  gotchas: [
    'A binding that leaves out the scanner’s real address locks it out: its requests are refused until the binding is fixed.',
    'A disabled scanner goes offline without an offline alarm: that was your decision, not a fault.',
  ],
  api: [
    'GET /api/v1/scanners/{id}',
    'PATCH /api/v1/scanners/{id}',
    'POST /api/v1/scanners/{id}/disable',
    'POST /api/v1/scanners/{id}/enable',
    'POST /api/v1/scanners/{id}/rotate-key',
    'GET /api/v1/scanners/{id}/key',
    'GET /api/v1/scanners/{id}/metrics',
    'GET /api/v1/scanners/{id}/connections',
  ],
});
