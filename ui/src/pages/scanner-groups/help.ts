import { help } from '../../lib/help';

export default help({
  path: '/scanner-groups',
  title: 'Scanner groups',
  group: 'Scanners',
  summary: 'Scanners gathered by network location: a scan given to a group runs from every one of its scanners, so each vantage point’s view can be compared.',
  about: [
    'A group is a set of scanners, usually those of one network location (a DMZ, a branch office, a cloud region). Scan templates can name a group instead of single scanners: the dispatcher then gives every scanner in the group the whole scope, one job each, and every result carries the scanner that saw it.',
    'A scanner may belong to several groups. Deleting a group leaves its scanners as they are.',
  ],
  scopes: [
    { scope: 'scanners:view', allows: 'see groups and their scanners' },
    { scope: 'scanners:manage', allows: 'create, change and delete groups' },
  ],
  fields: [
    { name: 'Name', description: 'Unique, up to 64 characters.' },
    { name: 'Location', description: 'The network location the group’s scanners see from.' },
    { name: 'Scanners', description: 'Its members. New scanners can join at registration through their provisioning token.' },
  ],
  howto: [
    { title: 'Create a group', steps: ['Press New group.', 'Name it, give its location and tick its scanners.', 'Press Create group.'] },
    { title: 'Add a scanner to a group', steps: ['Press Edit on the group, tick the scanner and press Save; or edit the scanner itself.'] },
  ],
  gotchas: ['A disabled or offline scanner stays in its groups but gets no jobs until it is healthy again.'],
  api: ['GET /api/v1/scanner-groups', 'POST /api/v1/scanner-groups', 'GET /api/v1/scanner-groups/{id}', 'PATCH /api/v1/scanner-groups/{id}', 'DELETE /api/v1/scanner-groups/{id}'],
});
