import { help } from '../../lib/help';

export default help({
  path: '/templates',
  title: 'Scan templates',
  group: 'Configuration',
  summary: 'Reusable scan definitions: what to scan, minus what never to scan, on which ports, with which scanners and how fast.',
  about: [
    'A template combines targets (subnets and subnet groups), exclusions, ports (port lists and port list groups), scanners and timing. Schedules and on-demand scans launch templates.',
    'Templates refer to everything by id: renaming a subnet or changing a port list applies to every template that uses it, at once. Every change to the template itself is a new version; History lists them and shows what changed between any two.',
    'When a scan is launched, mipo resolves the template as it is at that moment — subnets and nested groups merged into address intervals, global exclusions and the template’s own subtracted, port lists merged — and freezes the result into the scan. Scope shows that resolution now, or at any past moment, so you can tell exactly what a past scan covered.',
    'Scanners: in pool mode the scope is split into batches shared among the named scanners; in vantage mode every scanner of each named scanner group scans the whole scope, to compare what each network position sees. Scanners and scanner groups are managed on the Scanners pages; a template refers to them by id.',
  ],
  scopes: [
    { scope: 'templates:view', allows: 'see templates, their history and resolved scope' },
    { scope: 'templates:write', allows: 'create, change and delete templates' },
  ],
  fields: [
    { name: 'Subnets, Subnet groups', description: 'What to scan; at least one subnet or group.' },
    { name: 'Exclusions', description: 'Exclusions subtracted from this template only. Global exclusions apply to every template anyway.' },
    { name: 'Port lists, Port list groups', description: 'Which ports; at least one list or group.' },
    { name: 'Mode', description: '`pool`: batches shared among the scanners. `vantage`: every scanner of each group scans everything.' },
    { name: 'Scanners, Scanner groups', description: 'Picked by name (the list needs `scanners:view`; without it, paste ids one per line). A template may be saved without scanners but not launched.' },
    { name: 'Rate limit', description: 'Connection attempts per second per scanner, 0 to 1,000,000; 0 leaves it to the scanner. Default 1000.' },
    { name: 'Timeout', description: 'How long to wait for a port to answer, 50 to 60,000 ms. Default 1000.' },
    { name: 'Retries', description: 'Extra attempts at a port that did not answer, 0 to 10. Default 1.' },
    { name: 'Max duration', description: 'A scan job stops after this many seconds, up to 366 days; 0 means no limit. Default 86,400 (a day).' },
  ],
  howto: [
    { title: 'Create a template', steps: ['Press New template and name it.', 'Tick its subnets or subnet groups, any exclusions of its own, and its port lists or groups.', 'Choose the scanner mode and tick its scanners (pool) or scanner groups (vantage).', 'Adjust the timing if the defaults do not suit, and press Create template.'] },
    { title: 'See what a template scans', steps: ['Press Scope on the template: the merged address intervals, the address count and the ports, as of now.', 'Pick a past time to see what it meant then.'] },
    { title: 'See how a template changed', steps: ['Press History: every version, who made it and when; pick two to compare.'] },
  ],
  gotchas: [
    'A template used by a template group cannot be deleted until the group drops it.',
    'Changing a subnet or port list changes the scope of every template using it without a new template version; the scan records the resolved scope either way.',
  ],
  api: [
    'GET /api/v1/templates', 'POST /api/v1/templates', 'GET /api/v1/templates/{id}', 'PATCH /api/v1/templates/{id}', 'DELETE /api/v1/templates/{id}',
    'GET /api/v1/templates/{id}/scope', 'GET /api/v1/templates/{id}/versions', 'GET /api/v1/templates/{id}/versions/{version}', 'GET /api/v1/templates/{id}/diff',
  ],
});
