// The operator's day in a real browser: a real mipo-scanner scans two ports of 127.0.0.1 twice,
// the second time with one more listener open. The home page then shows the port that opened,
// linking to the scan's diff; the scans list shows each scan's open count and +/−; a first
// scan says there is nothing to compare yet; and searching 127.0.0.1 in the top bar lands on
// the host page with the port's timeline.
//
// Like scans.spec.ts, this file runs its own `mipo serve` (e2e/serve.mjs on another port) with a
// fast dispatcher, so it needs no other spec file and leaves no state for them.
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { reportFailure, serverPort, spawnLogged, stop, until } from './processes';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWNER = { username: 'home-owner', password: 'Tr0ub4dor-and-3-more-home' };

test.describe.configure({ mode: 'serial' });

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = serverPort();
const base = `http://127.0.0.1:${port}`;
let work = '';
const log: string[] = [];
let server: ChildProcess | undefined;
let scanner: ChildProcess | undefined;
let ctx: BrowserContext;
let page: Page;
let csrf = '';
const listeners: net.Server[] = [];
let steadyPort = 0; // open for both scans
let newPort = 0; // open for the second scan only
const scans: string[] = [];

function listen(p = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(p, '127.0.0.1', () => {
      listeners.push(s);
      resolve(s);
    });
  });
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;
const closeServer = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));

async function apiPost(req: APIRequestContext, path: string, body: unknown) {
  const r = await req.post(base + path, { data: body, headers: { 'X-CSRF-Token': csrf } });
  expect(r.status(), `${path}: ${await r.text()}`).toBeLessThan(300);
  return r.json();
}

/** Launches the template and waits until the scan has completed and its outcome is known. */
async function scan(req: APIRequestContext, template: string): Promise<string> {
  const launched = await apiPost(req, '/api/v1/scans', { template_id: template });
  const id = launched.items[0].id as string;
  await until(`scan ${id} to complete with its outcome`, 60_000, async () => {
    const d = await (await req.get(`${base}/api/v1/scans/${id}`)).json();
    return d.scan.status === 'completed' && d.scan.open_ports !== null;
  });
  return id;
}

test.afterEach(async ({}, info) => reportFailure(info, page, log));

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(180_000);
  work = mkdtempSync(join(tmpdir(), 'mipo-e2e-home-'));
  server = spawnLogged(log, 'mipo', 'node', [join(repo, 'ui/e2e/serve.mjs')], { MIPO_E2E_PORT: String(port), MIPO_DISPATCH_INTERVAL: '300ms' });
  const bin = join(work, 'mipo-scanner');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: join(repo, 'scanner'), stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });
  await until('mipo to be ready', 150_000, async () => (await fetch(base + '/readyz')).ok);

  ctx = await browser.newContext({ baseURL: base });
  page = await ctx.newPage();
  const req = ctx.request;
  const setup = await req.post(base + '/api/v1/setup', { data: { username: OWNER.username, password: OWNER.password, public_fqdn: 'mipo.example.org' } });
  expect(setup.status(), await setup.text()).toBeLessThan(300);
  const login = await req.post(base + '/api/v1/auth/login', { data: { username: OWNER.username, password: OWNER.password } });
  expect(login.status(), await login.text()).toBe(200);
  csrf = (await login.json()).csrf_token;

  // A real scanner, registered with a provisioning token as the installer would.
  const tok = await apiPost(req, '/api/v1/scanners/tokens', { name: 'home-eye' });
  const conf = join(work, 'home-eye', 'config.json');
  execFileSync(bin, ['register', '--server', base, '--token', tok.secret, '--config', conf, '--spool', join(work, 'home-eye', 'spool'), '--insecure-http'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  scanner = spawnLogged(log, 'home-eye', bin, ['run', '--config', conf, '--insecure-http']);
  const scannerID = await until('the scanner to be online', 30_000, async () => {
    const list = await (await req.get(base + '/api/v1/scanners')).json();
    return list.items.find((s: { name: string; status: string }) => s.name === 'home-eye' && s.status === 'online')?.id as string | undefined;
  });

  // Two ports: one listening throughout, one reserved now and opened before the second scan.
  steadyPort = portOf(await listen());
  const reserve = await listen();
  newPort = portOf(reserve);
  listeners.pop();
  await closeServer(reserve);

  const subnet = await apiPost(req, '/api/v1/subnets', { name: 'loopback-one', cidr: '127.0.0.1/32' });
  const ports = await apiPost(req, '/api/v1/port-lists', { name: 'two-ports', ports: `${steadyPort},${newPort}` });
  const tmpl = await apiPost(req, '/api/v1/templates', {
    name: 'loopback-two-ports',
    subnets: [subnet.id],
    port_lists: [ports.id],
    scanners: { mode: 'pool', scanner_ids: [scannerID] },
    timing: { rate_limit: 100, timeout_ms: 500, retries: 0, max_duration_seconds: 120 },
  });
  scans.push(await scan(req, tmpl.id));
  await listen(newPort);
  scans.push(await scan(req, tmpl.id));
});

test.afterAll(async () => {
  await ctx?.close().catch(() => {});
  await stop(scanner);
  await stop(server);
  for (const s of listeners) await closeServer(s).catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the home page shows the port that opened in the last scan, linking to its diff', async () => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Home', level: 1 })).toBeVisible();
  await expect(page.getByTestId('home-scanners')).toContainText('1 online');
  const row = page.getByTestId('home-latest').filter({ hasText: 'loopback-two-ports' });
  await expect(row.getByTestId('scan-delta')).toHaveText('+1 −0');
  const opened = row.getByTestId('home-opened');
  await expect(opened).toHaveCount(1);
  await expect(opened).toContainText(`127.0.0.1:${newPort}`);
  await expect(opened.getByRole('link')).toHaveAttribute('href', `/diff?scan=${scans[1]}`);
  await expect(page.getByTestId('home-24h')).toContainText('+1');
  // The alarm and health widgets the dashboards use sit on the home page too.
  await expect(page.locator('[data-widget-slot="alarms"]').getByRole('heading', { name: 'Open alarms' })).toBeVisible();
  await expect(page.locator('[data-widget-slot="health"]').getByRole('heading', { name: 'Component status' })).toBeVisible();
  // Today's bar links to that day's changes.
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.getByTestId('home-day').last()).toHaveAttribute('href', new RegExp(`^/changes\\?from=${today}T00%3A00%3A00Z&to=`));

  await opened.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/diff\\?scan=${scans[1]}$`));
  await expect(page.getByTestId('diff-opened').filter({ hasText: String(newPort) })).toHaveCount(1);
});

test('the scans list shows each scan’s open ports and +/− against the previous one', async () => {
  await page.goto('/scans');
  const rows = page.getByTestId('scan-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0).getByTestId('open-count')).toHaveText('2 open');
  await expect(rows.nth(0).getByTestId('scan-delta')).toHaveText('+1 −0');
  await expect(rows.nth(0).getByTestId('scan-delta')).toHaveAttribute('href', `/diff?scan=${scans[1]}`);
  await expect(rows.nth(0).getByTestId('scan-trigger')).toHaveText('manual');
  await expect(rows.nth(1).getByTestId('open-count')).toHaveText('1 open');
  await expect(rows.nth(1)).toContainText('first scan');

  // The first scan has nothing to compare with: its page says so, and so does its diff.
  await page.goto(`/scans/${scans[0]}`);
  await expect(page.getByTestId('nothing-to-compare')).toContainText('nothing to compare yet');
  await page.goto(`/diff?scan=${scans[0]}`);
  await expect(page.getByTestId('nothing-to-compare')).toContainText('Nothing to compare yet');
  await expect(page.getByRole('alert')).toHaveCount(0);
  // A finished scan keeps its rate, and says when it ended.
  await page.goto(`/scans/${scans[1]}`);
  await expect(page.locator('dt', { hasText: 'Ended' })).toBeVisible();
  await expect(page.getByTestId('scan-rate')).toHaveText(/\d \/s$/);
});

test('searching 127.0.0.1 lands on its host page with the port’s timeline', async () => {
  await page.goto('/scans');
  const search = page.getByRole('searchbox', { name: 'Search', exact: true });
  await search.fill('127.0.0.1');
  await search.press('Enter');
  await expect(page).toHaveURL(/\/hosts\/127\.0\.0\.1$/);
  await expect(page.getByTestId('host-address')).toContainText('127.0.0.1');
  const row = page.getByTestId('host-port-row').filter({ has: page.locator('td', { hasText: new RegExp(`^${newPort}$`) }) });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('host-timeline')).toBeVisible();
  await expect(row).toContainText('open');
  // The findings module's view of the address: no baseline covers it, so nothing is judged.
  await expect(page.getByRole('heading', { name: 'Expected ports and findings' })).toBeVisible();
  await expect(page.getByText('No baseline covers 127.0.0.1')).toBeVisible();

  // A port typed in the search box lands on open now, filtered by it.
  await search.fill(String(newPort));
  await search.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/open\\?ports=${newPort}$`));
  await expect(page.getByTestId('open-row')).toHaveCount(1);
  await expect(page.getByTestId('open-row')).toContainText('127.0.0.1');
});
