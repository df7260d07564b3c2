import { help } from '../../lib/help';

export default help({
  path: '/tokens',
  title: 'API tokens',
  group: 'Account',
  summary: 'Your own tokens for automation: each with a subset of your scopes and an expiry.',
  about: [
    'Everything the web interface does is an API call, so anything you can do here a script can do with a token: send it as `Authorization: Bearer mipo_…`.',
    'A token acts as you, limited to the scopes you gave it. It can never hold a scope you do not hold, and it stops working when it expires or when you revoke it.',
  ],
  fields: [
    { name: 'Name', description: 'What the token is for, such as `siem-export` or `ci-pipeline`.' },
    { name: 'Prefix', description: 'The first characters of the secret, to recognise a token in logs without revealing it.' },
    { name: 'Scopes', description: 'What the token may do; at most your own scopes.' },
    { name: 'Expires', description: '1 to 365 days after creation.' },
    { name: 'Last used', description: 'When the token was last presented to the API.' },
  ],
  howto: [
    {
      title: 'Create a token',
      steps: ['Press New token.', 'Name it, choose how many days it lives and tick only the scopes the job needs.', 'Press Create token.', 'Copy the secret now: mipo shows it once and keeps only a hash.'],
    },
    { title: 'Revoke a token', steps: ['Press Revoke on its row and confirm. Requests with it fail at once.'] },
  ],
  gotchas: [
    'The secret is shown once. If it is lost, revoke the token and create a new one.',
    'A token can create or revoke tokens only if it holds `tokens:write`; it may always revoke itself. A token it creates never holds more scopes or lives longer than it, and is revoked with it.',
    'Creating, using for a change, and revoking a token are all in the audit log, with the token’s name as the actor.',
  ],
  api: ['GET /api/v1/tokens', 'POST /api/v1/tokens', 'DELETE /api/v1/tokens/{id}', 'GET /api/v1/scopes'],
});
