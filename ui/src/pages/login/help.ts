import { help } from '../../lib/help';

export default help({
  path: '/login',
  title: 'Sign in',
  group: 'Getting started',
  summary: 'Sign in with your mipo username and password to reach the pages your roles allow.',
  about: [
    'A successful sign-in starts a session held in an HttpOnly cookie; the session lasts until you sign out or it expires. When it expires while you work, mipo brings you back here and, after signing in, to the page you were on.',
    'Every sign-in attempt, successful or not, is written to the audit log with the source address and browser.',
  ],
  fields: [
    { name: 'Username', description: 'Your account’s username (not your email address).' },
    { name: 'Password', description: 'Your password. Administrators can set a new one for you under Users.' },
  ],
  howto: [
    { title: 'Sign in', steps: ['Enter your username and password.', 'Press Enter or Sign in.'] },
    { title: 'Sign out', steps: ['Use Sign out at the bottom of the navigation. Your session ends on the server at once.'] },
  ],
  gotchas: [
    'After three failed attempts for one account from one address, each further try waits longer (1 second, then doubling up to 15 minutes; `too_many_attempts`); wait and try again. Failures elsewhere never slow you down from your own address.',
    'A disabled account cannot sign in even with the right password; ask an administrator.',
  ],
  api: ['POST /api/v1/auth/login', 'POST /api/v1/auth/logout', 'GET /api/v1/auth/me'],
});
