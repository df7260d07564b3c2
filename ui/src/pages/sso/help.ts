import { help } from '../../lib/help';

export default help({
  path: '/sso',
  title: 'Sign-in providers',
  group: 'Administration',
  summary: 'OpenID Connect providers (Okta, Entra ID, Google Workspace, Keycloak …) people can sign in through, and how their groups become mipo roles.',
  about: [
    'Each enabled provider gets a button on the sign-in page. mipo uses the authorization code flow with PKCE, a state bound to the browser and used once, and a nonce; it checks the ID token’s signature, issuer, audience and expiry, and reads userinfo.',
    'The callback URL shown for each provider is the redirect URI to register at the provider. It uses the public address from Settings when one is set, else the address you reached mipo at.',
    'Roles follow the provider: at every sign-in the rules are evaluated again and the user’s roles become exactly the matched ones (or the default role when none matches). When nothing matches and there is no default role, the sign-in is refused with a message naming the provider, and that user’s open sessions end.',
    'A user may have a password, a provider identity, or both. The owner always keeps the password and is never linked to a provider, so a broken provider cannot lock mipo out.',
  ],
  scopes: [
    { scope: 'settings:view', allows: 'see the providers and their callback URLs' },
    { scope: 'settings:write', allows: 'add, change and remove providers, and read a client secret (audited)' },
  ],
  fields: [
    { name: 'Display name', description: 'The provider’s name in mipo’s pages, messages and audit log.' },
    { name: 'Button label', description: 'The text of its button on the sign-in page.' },
    { name: 'Issuer URL', description: 'The provider’s issuer, such as `https://login.example.com/realms/main`; mipo discovers its endpoints from it.' },
    { name: 'Client ID / Client secret', description: 'The credentials of the application registered at the provider. The secret is stored encrypted with MIPO_SECRET_KEY; showing it again is an audited read.' },
    { name: 'Scopes', description: 'What mipo asks for. `openid profile email` suits most providers; add `groups` where the provider needs it to send group claims.' },
    { name: 'Link by verified email', description: 'At someone’s first sign-in, bind them to the existing mipo user with the same email address — only when the provider says the address is verified (`email_verified`). An unverified address is never linked; that sign-in is refused.' },
    { name: 'Create users', description: 'Create a mipo user (no password) at the first sign-in of someone mipo does not know.' },
    { name: 'Roles from claims', description: 'Rules “claim holds value → role”, such as `groups` holds `netops` → operator. A claim may be a list, a space-separated string or a single value; values compare exactly.' },
    { name: 'Default role', description: 'Given when no rule matches. None: such a sign-in is refused.' },
  ],
  howto: [
    {
      title: 'Add a provider',
      steps: [
        'Press New provider; enter the display name, issuer URL, client ID and secret; add rules; press Add provider.',
        'Copy the callback URL it shows and register it at the provider as the redirect URI (and mipo’s /login page as the post-logout redirect URI).',
        'Sign out and use the new button on the sign-in page to try it.',
      ],
    },
    { title: 'Take someone’s access away', steps: ['Remove them from the group at the provider. At their next sign-in their roles are removed, the sign-in is refused and their sessions end.'] },
  ],
  gotchas: [
    'Role changes made by hand under Users last only until the person’s next sign-in through a provider.',
    'If the provider cannot be reached, the sign-in page says so; passwords keep working.',
    'Signing out of mipo also signs you out of the provider when it offers RP-initiated logout.',
  ],
  api: [
    'GET /api/v1/oidc/providers',
    'POST /api/v1/oidc/providers',
    'GET /api/v1/oidc/providers/{id}',
    'PATCH /api/v1/oidc/providers/{id}',
    'DELETE /api/v1/oidc/providers/{id}',
    'GET /api/v1/oidc/providers/{id}/secret',
    'GET /api/v1/auth/oidc/providers',
    'GET /api/v1/auth/oidc/{id}/start',
    'GET /api/v1/auth/oidc/{id}/callback',
    'GET /api/v1/auth/oidc/end-session',
  ],
});
