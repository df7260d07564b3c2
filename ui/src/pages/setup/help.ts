import { help } from '../../lib/help';

export default help({
  path: '/setup',
  title: 'First-run setup',
  group: 'Getting started',
  summary: 'Create the owner account and tell mipo the address it is reached at; shown only until the first user exists.',
  about: [
    'A fresh mipo has no users, and every API route except setup answers `409 setup_required` until the wizard is finished. Whoever opens the web interface first creates the owner account.',
    'The owner is the bootstrap account: it bypasses every scope check, cannot be deleted, disabled or demoted, and is meant for first-time configuration and emergency access. Create named accounts with roles for day-to-day work.',
    'Once the owner exists, the setup endpoints answer 404 for good; this page then sends you to sign in.',
  ],
  fields: [
    { name: 'Username', description: 'The owner’s sign-in name. Letters, digits, dot, dash and underscore.' },
    { name: 'Display name', description: 'How the owner appears in lists and the audit log.' },
    { name: 'Email', description: 'For account linking with an OpenID Connect provider later; optional.' },
    { name: 'Password', description: 'At least the length the server asks for; the server says what it refuses and why.' },
    { name: 'Public address (FQDN)', description: 'The host name scanners and browsers use to reach this mipo, such as `mipo.example.org`. Used in scanner provisioning commands and sign-in callbacks. Empty: mipo uses the host name of each request.' },
  ],
  howto: [
    {
      title: 'Finish setup',
      steps: [
        'Choose the owner’s username and a long password, and give a display name.',
        'Enter the public address, or leave it empty while trying mipo on one machine.',
        'Check the summary and press Create owner. You are signed in as the owner.',
        'Under Administration → Users, create accounts with roles for the people who will use mipo.',
      ],
    },
  ],
  gotchas: [
    'Anyone who can reach a fresh mipo can finish its setup: do it right after the first start, or start mipo on a network only you can reach.',
    'The public address can be changed later under Administration → Settings; scanner install commands made before the change keep the old address.',
  ],
  api: ['GET /api/v1/setup', 'POST /api/v1/setup'],
});
