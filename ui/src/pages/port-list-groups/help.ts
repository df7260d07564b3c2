import { help } from '../../lib/help';

export default help({
  path: '/port-list-groups',
  title: 'Port list groups',
  group: 'Configuration',
  summary: 'Port lists combined into one profile, such as full-audit from web-standard, database-ports and admin-services.',
  about: [
    'A group scans every port of every list in it, each port once: its ports are the union of its lists, merged and deduplicated. It refers to its lists by id, so a change to a list applies to the group at once.',
    'Templates can name groups as well as lists; every change to a group is a new version in its history.',
  ],
  scopes: [
    { scope: 'ports:view', allows: 'see port list groups and their history' },
    { scope: 'ports:write', allows: 'create, change and delete port list groups' },
  ],
  fields: [
    { name: 'Lists', description: 'The port lists in the group, built-in ones included.' },
    { name: 'Ports', description: 'The union of the lists’ ports.' },
    { name: 'Count', description: 'How many distinct ports the group holds.' },
  ],
  howto: [{ title: 'Combine port lists', steps: ['Press New group.', 'Name it and tick its lists.', 'Press Create group.'] }],
  gotchas: ['A group used by a template cannot be deleted until the template stops naming it.'],
  api: [
    'GET /api/v1/port-list-groups', 'POST /api/v1/port-list-groups', 'GET /api/v1/port-list-groups/{id}', 'PATCH /api/v1/port-list-groups/{id}',
    'DELETE /api/v1/port-list-groups/{id}', 'GET /api/v1/port-list-groups/{id}/versions', 'GET /api/v1/port-list-groups/{id}/diff',
  ],
});
