import { help } from '../../lib/help';

export default help({
  path: '/login',
  title: 'Sign in',
  group: 'Getting started',
  summary: 'Sign in with your mipo username and password, or through a sign-in provider, to reach the pages your roles allow.',
  about: [
    'A successful sign-in starts a session held in an HttpOnly cookie; the session lasts until you sign out or it expires. When it expires while you work, mipo brings you back here and, after signing in, to the page you were on.',
    'Every sign-in attempt, successful or not, is written to the audit log with the source address and browser.',
    'When an administrator has set up sign-in providers (single sign-on), each has its own button below the form: it takes you to the provider to sign in and brings you back signed in, with the roles your groups there map to.',
  ],
  fields: [
    { name: 'Username', description: 'Your account’s username (not your email address).' },
    { name: 'Password', description: 'Your password. Administrators can set a new one for you under Users.' },
    { name: 'Provider buttons', description: 'Sign in through your organisation’s identity provider instead of a password.' },
  ],
  howto: [
    { title: 'Sign in', steps: ['Enter your username and password.', 'Press Enter or Sign in.'] },
    { title: 'Sign out', steps: ['Use Sign out at the bottom of the navigation. Your session ends on the server at once.'] },
  ],
  gotchas: [
    'After three failed attempts for one account from one address, each further try waits longer (1 second, then doubling up to 15 minutes; `too_many_attempts`); wait and try again. Failures elsewhere never slow you down from your own address.',
    'A disabled account cannot sign in even with the right password; ask an administrator.',
    'When a provider sign-in is refused, the reason is shown above the form: the provider cannot be reached, your email address is not verified there, or your groups map to no mipo role. Your password, if you have one, still works.',
  ],
  api: ['POST /api/v1/auth/login', 'POST /api/v1/auth/logout', 'GET /api/v1/auth/me', 'GET /api/v1/auth/oidc/providers', 'GET /api/v1/auth/oidc/{id}/start'],
});
