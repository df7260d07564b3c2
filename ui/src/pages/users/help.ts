import { help } from '../../lib/help';

export default help({
  path: '/users',
  title: 'Users',
  group: 'Administration',
  summary: 'The people who can sign in to mipo, their sign-in methods and their roles.',
  about: [
    'A user’s roles decide what they can see and do: the union of the scopes of their roles. The owner holds every scope.',
    'Every create, change and delete is written to the audit log with a field-level diff.',
    'The table is sorted and filtered by the server; the filters are part of the page address, so a filtered view can be bookmarked or sent to a colleague.',
  ],
  scopes: [
    { scope: 'users:view', allows: 'see this list and each user' },
    { scope: 'users:write', allows: 'create, change, disable and delete users' },
    { scope: 'roles:view', allows: 'filter by role and pick roles for a user' },
  ],
  fields: [
    { name: 'Username', description: 'The sign-in name; cannot be changed after creation.' },
    { name: 'Display name', description: 'How the user appears in lists and the audit log.' },
    { name: 'Sign-in', description: '`local` (password) or `oidc` (a sign-in provider, see Sign-in providers), or both. Filter by it to list who signs in through a provider.' },
    { name: 'Roles', description: 'What the user may do. Built-in: admin, operator, viewer; custom roles come from Roles and scopes.' },
    { name: 'Status', description: '`owner` for the bootstrap account; `disabled` for an account that cannot sign in but keeps its history.' },
    { name: 'Last sign-in', description: 'When the user last signed in successfully, in your time zone (UTC on hover).' },
  ],
  howto: [
    {
      title: 'Create a user',
      steps: ['Press New user.', 'Fill in the username, a first password and the roles.', 'Press Create user (or Enter). Tell the user their password; they can change it under Account.'],
    },
    { title: 'Find users with a role', steps: ['Pick the role in the Role filter; add a sign-in method or text to narrow it.', 'Bookmark the page to come back to the same view.'] },
    { title: 'Find who signs in through a provider', steps: ['Pick `oidc` in the Sign-in filter.'] },
    { title: 'Take access away now', steps: ['Press Edit on the user.', 'Tick Disabled and save, or press Disable on the row. They can no longer sign in; their history stays.'] },
  ],
  gotchas: [
    'The owner cannot be deleted, disabled or have roles taken away (`owner_protected`), and only the owner can change the owner’s account (`owner_only`).',
    'You can change or delete another user only if you hold every scope they hold (`stronger_account`): users:write never lets anyone reset a stronger user’s password or email and sign in as them.',
    'Deleting a user is permanent; disabling keeps the account for the audit trail and can be undone.',
    'Changing a user’s roles takes effect on their next request. For someone who signs in through a provider, the provider’s role rules set their roles again at each sign-in.',
    'Users who sign in through a provider may have no password; give them one here if they should also be able to sign in locally.',
  ],
  api: ['GET /api/v1/users', 'POST /api/v1/users', 'GET /api/v1/users/{id}', 'PATCH /api/v1/users/{id}', 'DELETE /api/v1/users/{id}', 'GET /api/v1/roles'],
});
