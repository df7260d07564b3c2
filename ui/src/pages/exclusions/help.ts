import { help } from '../../lib/help';

export default help({
  path: '/exclusions',
  title: 'Exclusions',
  group: 'Configuration',
  summary: 'Addresses, CIDRs and ranges never to be scanned: everywhere, or only by the templates that list them.',
  about: [
    'An exclusion is a list of targets — single addresses (`10.0.0.5`), CIDRs (`10.1.0.0/16`) and ranges (`10.2.0.1-10.2.0.9`), IPv4 or IPv6 — that are taken out of a scan’s scope before it is split into jobs.',
    'A global exclusion is subtracted from every template’s targets, whatever the template says: use it for what must never be touched, such as fragile devices or addresses owned by others. A per-template exclusion applies only to the templates that list it.',
    'The targets are stored merged and normalised (`10.0.0.0/25, 10.0.0.128/25` becomes `10.0.0.0/24`). Every change is a new version, so a past scan’s exclusions can always be shown.',
  ],
  scopes: [
    { scope: 'targets:view', allows: 'see exclusions and their history' },
    { scope: 'targets:write', allows: 'create, change and delete exclusions' },
  ],
  fields: [
    { name: 'Targets', description: 'Addresses, CIDRs and ranges separated by commas or new lines.' },
    { name: 'Global', description: 'Subtracted from every template. Otherwise only from templates that list the exclusion.' },
    { name: 'Addresses', description: 'How many addresses the exclusion covers.' },
  ],
  howto: [
    { title: 'Keep an address out of every scan', steps: ['Press New exclusion.', 'Type the address, CIDR or range; several are fine.', 'Tick Global and press Create exclusion.'] },
    { title: 'Exclude addresses from one template only', steps: ['Create the exclusion without Global.', 'Edit the template and tick it under Exclusions.'] },
  ],
  gotchas: [
    'CIDRs are as strict as subnets: `10.0.0.1/24` is refused with the fix offered.',
    'A per-template exclusion that a template lists cannot be deleted until the template stops listing it.',
  ],
  api: [
    'GET /api/v1/exclusions', 'POST /api/v1/exclusions', 'GET /api/v1/exclusions/{id}', 'PATCH /api/v1/exclusions/{id}',
    'DELETE /api/v1/exclusions/{id}', 'GET /api/v1/exclusions/{id}/versions', 'GET /api/v1/exclusions/{id}/diff',
  ],
});
