import { help } from '../../lib/help';

export default help({
  path: '/subnet-groups',
  title: 'Subnet groups',
  group: 'Configuration',
  summary: 'Named collections of subnets and of other groups, such as production-dmz or branch-offices, for templates to scan together.',
  about: [
    'A group holds subnets and may hold other groups, to any depth: "all-offices" can hold "emea-offices" and "us-offices". A template that scans a group scans every subnet in it and in the groups inside it, each address once however often it appears.',
    'Groups refer to their members by id, so renaming a subnet or changing its CIDR changes every group that holds it at once. A group may not end up inside itself: mipo refuses the change and names the cycle it would make.',
    'Every change is a new version with its author and time; History compares any two.',
  ],
  scopes: [
    { scope: 'targets:view', allows: 'see subnet groups and their history' },
    { scope: 'targets:write', allows: 'create, change and delete subnet groups' },
  ],
  fields: [
    { name: 'Members', description: 'The subnets and groups the group holds, by their current names.' },
    { name: 'Subnets', description: 'Distinct subnets in the group, nested groups included.' },
    { name: 'Addresses', description: 'Distinct addresses in the group: overlapping subnets count once.' },
    { name: 'Used by', description: 'Groups and templates holding this group; it cannot be deleted while any do.' },
  ],
  howto: [
    { title: 'Group subnets', steps: ['Press New group.', 'Name it, then tick its subnets (filter the list by name) and any groups it should include.', 'Press Create group.'] },
    { title: 'Nest groups', steps: ['Edit the outer group and tick the inner groups under Groups.'] },
  ],
  gotchas: [
    '`group_cycle`: the change would put a group inside itself (a → b → a); the message names the chain.',
    'A group cannot be deleted while a template or another group uses it.',
  ],
  api: [
    'GET /api/v1/subnet-groups', 'POST /api/v1/subnet-groups', 'GET /api/v1/subnet-groups/{id}', 'PATCH /api/v1/subnet-groups/{id}',
    'DELETE /api/v1/subnet-groups/{id}', 'GET /api/v1/subnet-groups/{id}/versions', 'GET /api/v1/subnet-groups/{id}/diff',
  ],
});
