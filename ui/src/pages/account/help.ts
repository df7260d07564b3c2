import { help } from '../../lib/help';

export default help({
  path: '/account',
  title: 'Your account',
  group: 'Account',
  summary: 'Who you are signed in as, the roles and scopes you hold, your session, and your password.',
  fields: [
    { name: 'Roles', description: 'Given by an administrator under Users. Your scopes are the union of your roles’ scopes.' },
    { name: 'Scopes', description: 'Everything you may do. The navigation shows only pages these allow.' },
    { name: 'Session expires', description: 'When you will be asked to sign in again.' },
  ],
  howto: [
    { title: 'Change your password', steps: ['Enter your current password and the new one twice.', 'Press Change password (or Enter).'] },
  ],
  gotchas: ['Accounts that sign in through an identity provider (oidc) change their password there, not here.'],
  api: ['GET /api/v1/auth/me', 'PUT /api/v1/auth/password'],
});
