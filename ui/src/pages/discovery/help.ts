import { help } from '../../lib/help';

export default help({
  path: '/discovery',
  title: 'Discovery',
  group: 'Configuration',
  summary: 'Subnets from cloud accounts, NetBox and CMDB exports, kept in a managed subnet group per source.',
  about: [
    'A discovery source reads where your networks are already recorded: AWS (VPC and subnet CIDRs, IPv6 blocks, elastic IP addresses, per region), Azure (virtual networks, subnets, public IP addresses of a subscription), Google Cloud (subnetworks with their secondary and IPv6 ranges, external addresses of a project), NetBox (prefixes and IP ranges, filtered by tag, site or tenant) or a CMDB export (CSV or JSON, uploaded or fetched from a URL, with a column mapping).',
    'Each source owns one subnet group, `discovery: <name>`. A run compares what the source reports with what it reported before and creates, changes (name, tags) or retires subnets in that group, each change a new version recorded in the audit log as the `discovery` actor. Give the group to a template: the template scans whatever the group holds at its next run, and each scan’s frozen scope shows what discovery had added by then.',
    'A source runs on its schedule and whenever you press Run. A dry run only shows the diff. A source that requires approval keeps each run’s diff waiting until someone approves it. A run that fails (the provider refuses, or an export has bad rows nobody accepted) changes nothing and emits the `discovery.failed` event, which the alarm rules turn into an alarm; `discovery.recovered` follows the next good run.',
  ],
  scopes: [
    { scope: 'targets:view', allows: 'see sources, their runs and what they discovered' },
    { scope: 'targets:write', allows: 'add, change, run and delete sources, approve runs, pin and exclude subnets, read credentials (audited)' },
  ],
  fields: [
    { name: 'Kind', description: 'aws, azure, gcp, netbox or cmdb; fixed once the source exists.' },
    { name: 'Secret', description: 'The credential: AWS secret access key, Azure client secret, GCP service account key (JSON), NetBox API token, or a bearer token for a CMDB URL. Stored encrypted; reading it back is an audited action.' },
    { name: 'Mapping', description: 'cmdb: which CSV column (or JSON key) holds the CIDR, name, tags (separated by ;), account and region.' },
    { name: 'State', description: 'active: kept in step with the source. pinned: kept as it is, even when the source drops it. excluded: never in the group. retired: the source dropped it.' },
  ],
  howto: [
    { title: 'Import subnets from a CSV export', steps: ['Press New source, pick kind cmdb and format csv, and save.', 'Paste the export into Export and press Dry run to see the diff.', 'Press Apply. The subnets are now in the source’s group.', 'Edit a template and tick the group under Subnet groups.'] },
    { title: 'Keep a subnet the source no longer reports', steps: ['Find it under Discovered subnets.', 'Press Pin.'] },
  ],
  gotchas: [
    'An export with bad rows is refused as a whole, listing each bad row by line and column, unless you tick Accept partial import.',
    'Retiring a subnet an operator also put into a template directly leaves that subnet in place (out of the group).',
    'Deleting a source keeps its group and subnets as ordinary objects.',
  ],
  api: [
    'GET /api/v1/discovery/sources', 'POST /api/v1/discovery/sources', 'PATCH /api/v1/discovery/sources/{id}', 'DELETE /api/v1/discovery/sources/{id}',
    'POST /api/v1/discovery/sources/{id}/run', 'GET /api/v1/discovery/sources/{id}/runs', 'GET /api/v1/discovery/sources/{id}/subnets',
    'PATCH /api/v1/discovery/sources/{id}/subnets', 'GET /api/v1/discovery/sources/{id}/credentials',
    'POST /api/v1/discovery/runs/{id}/approve', 'POST /api/v1/discovery/runs/{id}/reject',
  ],
});
