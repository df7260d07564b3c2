// The owner the setup story (ui.spec.ts) makes, and the one way the later stories sign in as it:
// through setup when a file runs alone, else through the login form.
import { expect, type Browser, type BrowserContextOptions, type Page } from '@playwright/test';

export const OWNER = { username: 'owner', password: 'Tr0ub4dor-and-3-more' };

export async function ownerPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const p = await (await browser.newContext(options)).newPage();
  const setup = await p.request.get('/api/v1/setup');
  if (setup.ok() && (await setup.json()).needed) {
    expect((await p.request.post('/api/v1/setup', { data: { username: OWNER.username, password: OWNER.password } })).status()).toBe(201);
  }
  // Setup signs the owner in; after ui.spec.ts, sign in here.
  if (!(await p.request.get('/api/v1/auth/me')).ok()) {
    await p.goto('/login');
    await p.getByLabel('Username').fill(OWNER.username);
    await p.getByLabel('Password').fill(OWNER.password);
    await p.getByLabel('Password').press('Enter');
    await p.waitForURL((url) => url.pathname !== '/login');
  }
  return p;
}
