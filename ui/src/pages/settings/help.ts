import { help } from '../../lib/help';

export default help({
  path: '/settings',
  title: 'Settings',
  group: 'Administration',
  summary: 'Instance-wide settings, such as the public address scanners and browsers use to reach mipo.',
  about: [
    'These settings live in the config database and take effect at once, in every mipo process. Settings that a process needs before it starts (listen address, databases, TLS) are environment variables instead; `mipo serve --help` lists them.',
  ],
  scopes: [
    { scope: 'settings:view', allows: 'see the settings' },
    { scope: 'settings:write', allows: 'change them' },
  ],
  fields: [
    {
      name: 'Public address (FQDN)',
      description: 'The host name (and port, if not 443) in scanner provisioning commands, sign-in callbacks and the TLS certificate, such as `mipo.example.org`. Empty: mipo uses the host name of each incoming request (behind a trusted proxy, its forwarded host), which is enough for a single-machine deployment.',
    },
  ],
  howto: [{ title: 'Change the public address', steps: ['Enter the new host name.', 'Press Save (or Enter). The change is audited.'] }],
  gotchas: [
    'Scanner install commands made before a change keep the old address; registered scanners are not affected, they keep talking to the address they were given.',
    'Pages that depend on it: Scanners (install commands) and TLS certificate. The self-signed certificate is re-signed for the new name on the same key, so scanner pins stay valid; an uploaded or ACME certificate must cover the new name.',
  ],
  api: ['GET /api/v1/settings', 'PATCH /api/v1/settings', 'GET /api/v1/evidence-key'],
});
