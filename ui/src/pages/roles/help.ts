import { help } from '../../lib/help';

export default help({
  path: '/roles',
  title: 'Roles and scopes',
  group: 'Administration',
  summary: 'Named sets of resource:action scopes that decide what each user may see and do.',
  about: [
    'Every API request is checked against a scope such as `users:write` or `scans:execute` before it reaches its handler. A role grants a set of scopes; a user holds the union of their roles’ scopes.',
    'Three built-in roles ship with mipo and cannot be changed or deleted: `admin` (every scope), `operator` (scan execution, scanner viewing and alerting) and `viewer` (read-only access to a safe subset). Create custom roles for anything else.',
    'The web interface only reflects what the API permits: a page you lack the scope for is hidden from the navigation, and if opened directly it says which scope is missing.',
  ],
  scopes: [
    { scope: 'roles:view', allows: 'see roles and their scopes' },
    { scope: 'roles:write', allows: 'create, change and delete custom roles' },
  ],
  fields: [
    { name: 'Name', description: 'A short name such as `auditor` or `network-team`; unique.' },
    { name: 'Description', description: 'What the role is for, so others pick the right one.' },
    { name: 'Scopes', description: 'What the role allows, grouped by resource. `view` reads, `write` and `manage` change, `execute` runs, `export` downloads.' },
    { name: 'Users', description: 'How many users hold the role.' },
  ],
  howto: [
    {
      title: 'Create a custom role',
      steps: ['Press New role.', 'Name it and describe what it is for.', 'Tick the scopes it grants; “all / none” toggles a whole resource.', 'Press Create role, then give it to users under Users.'],
    },
    { title: 'See what a built-in role grants', steps: ['Press View on the role: its scopes are listed, read-only.'] },
  ],
  gotchas: [
    'A role that users still hold cannot be deleted (`role_in_use`); the error names them. Take it away from them first.',
    'Built-in roles answer `role_builtin` to any change; copy their scopes into a custom role instead.',
    '`audit:export` lets a role download the whole audit log: grant it sparingly. Without `users:view`, audit readers see names, email addresses, source addresses and browsers as [hidden].',
    'You cannot change a role that grants a scope you do not hold yourself (`scope_escalation`).',
  ],
  api: ['GET /api/v1/roles', 'POST /api/v1/roles', 'GET /api/v1/roles/{id}', 'PATCH /api/v1/roles/{id}', 'DELETE /api/v1/roles/{id}', 'GET /api/v1/scopes'],
});
