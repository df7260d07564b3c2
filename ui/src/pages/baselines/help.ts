import { help } from '../../lib/help';

export default help({
  path: '/baselines',
  title: 'Baselines',
  group: 'Configuration',
  summary: 'The ports expected per subnet group, subnet, CIDR or single address.',
  about: [
    'A baseline says which ports may be open in a scope: explicit ports, port lists and port list groups. Open ports a baseline does not allow become findings after each scan.',
    'Baselines inherit from the widest scope to the narrowest: for an address, every baseline whose scope holds it applies, widest first (by prefix length; at the same length a subnet group, then a subnet or CIDR, then a single address). allow adds its ports to what wider baselines allow; only allows exactly its ports; nothing allows no port at all — unless a still narrower baseline allows some.',
    'Every change is a new version; the versions are kept after a delete, and evidence packs carry them.',
  ],
  scopes: [
    { scope: 'findings:view', allows: 'see baselines and their versions' },
    { scope: 'baselines:write', allows: 'create, change and delete baselines' },
  ],
  fields: [
    { name: 'Scope', description: 'A subnet group, a subnet, a CIDR such as 10.1.0.0/16, or one address.' },
    { name: 'Mode', description: 'allow (inherit and add), only (exactly these), nothing (no port is expected).' },
    { name: 'Ports', description: 'Explicit ports such as 22,443,8000-8100, beside any port lists and groups.' },
  ],
  howto: [
    { title: 'Expect only SSH across a site, and the web on one server', steps: ['A baseline for the site’s subnet group: mode allow, ports 22.', 'A baseline for the server’s address: mode allow, ports 80,443.'] },
    { title: 'Say a network should expose nothing', steps: ['A baseline for its subnet with mode nothing.'] },
  ],
  gotchas: ['A subnet, group or port list a baseline names cannot be deleted until the baseline stops naming it.', 'An address no baseline covers is not judged, so no finding is raised there.'],
  api: ['GET /api/v1/baselines', 'POST /api/v1/baselines', 'PUT /api/v1/baselines/{id}', 'DELETE /api/v1/baselines/{id}', 'GET /api/v1/baselines/{id}/versions'],
});
