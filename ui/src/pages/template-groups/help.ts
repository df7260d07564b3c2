import { help } from '../../lib/help';

export default help({
  path: '/template-groups',
  title: 'Template groups',
  group: 'Configuration',
  summary: 'Scan templates bundled to be launched together, by one schedule or one press.',
  about: [
    'A template group names templates, in order. Launching the group, on demand or from a schedule, launches every template in it, each resolved and frozen into its own scan.',
    'Groups refer to templates by id; a template in a group cannot be deleted until the group drops it. Every change to a group is a new version in its history.',
  ],
  scopes: [
    { scope: 'templates:view', allows: 'see template groups and their history' },
    { scope: 'templates:write', allows: 'create, change and delete template groups' },
  ],
  fields: [{ name: 'Templates', description: 'The templates launched together.' }],
  howto: [{ title: 'Bundle templates', steps: ['Press New group.', 'Name it and tick its templates.', 'Press Create group; schedules and launches can now name the group.'] }],
  gotchas: ['An empty group can be saved but launches nothing.'],
  api: [
    'GET /api/v1/template-groups', 'POST /api/v1/template-groups', 'GET /api/v1/template-groups/{id}', 'PATCH /api/v1/template-groups/{id}',
    'DELETE /api/v1/template-groups/{id}', 'GET /api/v1/template-groups/{id}/versions', 'GET /api/v1/template-groups/{id}/diff',
  ],
});
