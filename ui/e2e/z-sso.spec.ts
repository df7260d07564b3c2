// Single sign-on in a real browser against a real mipo and a real OpenID provider: zitadel/oidc's
// example provider, built from this repository's go.mod and started here. The owner configures
// the provider on the Sign-in providers page (whose callback URL is what the provider is told to
// accept), then someone signs in through the provider's own login form and sees only the pages
// of the role their claim maps to.
//
// Runs after ui.spec.ts (whose first test is the setup wizard); run alone, it makes the owner.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { OWNER, ownerPage } from './owner';
import { serverPort } from './processes';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const idpPort = String(serverPort());
const issuer = `http://localhost:${idpPort}/`;

test.describe.configure({ mode: 'serial' });

let p: Page;
let dir: string;
let idp: ChildProcess | undefined;

test.beforeAll(async ({ browser }) => {
  dir = mkdtempSync(join(tmpdir(), 'mipo-idp-'));
  execFileSync('go', ['build', '-o', join(dir, 'idp'), 'github.com/zitadel/oidc/v3/example/server'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  writeFileSync(
    join(dir, 'users.json'),
    JSON.stringify({
      'eve-sub': { ID: 'eve-sub', Username: 'eve', Password: 'verysecure', FirstName: 'Eve', LastName: 'Ops', Email: 'eve@example.com', EmailVerified: true },
    }),
  );
  p = await ownerPage(browser);
  // The callback URL follows the public FQDN setting, which an earlier file may have set to a
  // name this machine cannot reach: clear it, so the request's host (127.0.0.1:port) is used.
  const csrf = (await (await p.request.get('/api/v1/auth/me')).json()).csrf_token;
  expect((await p.request.patch('/api/v1/settings', { data: { public_fqdn: '' }, headers: { 'X-CSRF-Token': csrf } })).status()).toBe(200);
});

test.afterAll(async () => {
  idp?.kill('SIGTERM');
  await p.context().close();
  rmSync(dir, { recursive: true, force: true });
});

const dialog = () => p.getByRole('dialog');

test('configure a provider, sign in through it, and see only the mapped role’s pages', async ({ browser }) => {
  await p.goto('/users');
  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign-in providers' }).click();
  await expect(p).toHaveURL(/\/sso$/);
  await p.getByRole('button', { name: 'New provider' }).click();
  await dialog().getByLabel('Display name').fill('Example IdP');
  await dialog().getByLabel('Issuer URL').fill(issuer);
  await dialog().getByLabel('Client ID').fill('web');
  await dialog().getByLabel('Client secret').fill('secret');
  await dialog().getByLabel('Create users at their first sign-in').check();
  await dialog().getByRole('button', { name: 'Add rule' }).click();
  await dialog().getByLabel('Claim (rule 1)').fill('email');
  await dialog().getByLabel('Value (rule 1)').fill('eve@example.com');
  await dialog().getByLabel('Role (rule 1)').selectOption({ label: 'operator' });
  await dialog().getByRole('button', { name: 'Add provider' }).click();

  // The saved provider shows the exact callback URL to register at the provider.
  const callback = (await dialog().getByTestId('form-callback-url').textContent())!.trim();
  expect(callback).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/api/v1/auth/oidc/[0-9a-f-]{36}/callback$`));
  await dialog().getByLabel('Close').click();
  await expect(p.getByTestId('provider-row').filter({ hasText: 'Example IdP' }).getByTestId('callback-url')).toHaveText(callback);

  idp = spawn(join(dir, 'idp'), [], { env: { ...process.env, PORT: idpPort, REDIRECT_URI: callback, USERS_FILE: join(dir, 'users.json') }, stdio: 'ignore' });
  await expect.poll(async () => (await p.request.get(issuer + '.well-known/openid-configuration').catch(() => null))?.status(), { timeout: 15_000 }).toBe(200);

  // Someone else, in a fresh browser, signs in through the provider.
  const eve = await (await browser.newContext()).newPage();
  await eve.goto('/login');
  await eve.getByRole('link', { name: 'Sign in with Example IdP' }).click();
  await eve.locator('#username').fill('eve');
  await eve.locator('#password').fill('verysecure');
  await eve.getByRole('button', { name: 'Login' }).click();
  // Back from the provider, the callback signs eve in and sends her home.
  await eve.waitForURL((url) => url.port !== idpPort && url.pathname === '/');
  await expect(eve.getByRole('heading', { name: 'Home', level: 1 })).toBeVisible();
  const nav = eve.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Scans', exact: true })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Results', exact: true })).toBeVisible();
  for (const hidden of ['Audit log', 'Users', 'Roles and scopes', 'Settings', 'Sign-in providers']) {
    await expect(nav.getByRole('link', { name: hidden, exact: true })).toHaveCount(0);
  }
  const me = await (await eve.request.get('/api/v1/auth/me')).json();
  expect(me.user.username).toBe('eve');
  expect(me.user.auth_methods).toEqual(['oidc']);
  expect(me.scopes).toContain('scans:execute');
  expect(me.scopes).not.toContain('users:view');
  expect((await eve.request.get('/api/v1/users')).status()).toBe(403);

  // The users table, filtered to provider sign-ins, lists eve.
  await p.goto('/users?auth=oidc');
  await expect(p.getByRole('table')).toContainText('eve');
  await eve.context().close();
});

test('a provider that is down is named on the sign-in page, and passwords still work', async ({ browser }) => {
  idp?.kill('SIGTERM');
  await new Promise((r) => idp!.once('exit', r));
  const anon = await (await browser.newContext()).newPage();
  await anon.goto('/login');
  await anon.getByRole('link', { name: 'Sign in with Example IdP' }).click();
  await expect(anon.getByTestId('sso-error')).toContainText('Example IdP cannot be reached');
  await anon.getByLabel('Username').fill(OWNER.username);
  await anon.getByLabel('Password').fill(OWNER.password);
  await anon.getByLabel('Password').press('Enter');
  await anon.waitForURL((url) => url.pathname !== '/login');
  await anon.context().close();
});
