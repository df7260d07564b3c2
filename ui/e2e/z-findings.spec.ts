// Findings end to end in a real browser: a baseline defined on the Baselines page allows one
// port of 127.0.0.1; a real mipo-scanner scans it while the test listens on that port and on
// another; the other shows up on the Findings page; accepting it with a reason keeps it
// accepted through the next scan; and the evidence pack downloads as a signed tar.
//
// Like scans.spec.ts, it runs its own `mipo serve` (e2e/serve.mjs) on a fresh install and a
// scanner built from this checkout; it scans only 127.0.0.1, and only the two ports it opened.
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { reportFailure, serverPort, spawnLogged, stop, until } from './processes';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWNER = { username: 'find-owner', password: 'Tr0ub4dor-and-3-more-finds', display: 'Fay Findings' };

test.describe.configure({ mode: 'serial' });

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = serverPort();
const base = `http://127.0.0.1:${port}`;
let work = '';
const log: string[] = [];
let server: ChildProcess | undefined;
const scanners: ChildProcess[] = [];
let ctx: BrowserContext;
let page: Page;
let csrf = '';
let template = '';
const listeners: net.Server[] = [];
let expected = 0;
let unexpected = 0;

function listen(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      listeners.push(s);
      resolve(s);
    });
  });
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

async function apiPost(req: APIRequestContext, path: string, body: unknown) {
  const r = await req.post(base + path, { data: body, headers: { 'X-CSRF-Token': csrf } });
  expect(r.status(), `${path}: ${await r.text()}`).toBeLessThan(300);
  return r.json();
}

/** Launches the template and waits until the scan completed and its findings were judged. */
async function scan(req: APIRequestContext): Promise<string> {
  const launched = await apiPost(req, '/api/v1/scans', { template_id: template });
  const id: string = launched.items[0].id;
  await until(`scan ${id} to complete`, 90_000, async () => (await (await req.get(`${base}/api/v1/scans/${id}`)).json()).scan?.status === 'completed');
  await until(`scan ${id} to be judged`, 30_000, async () => {
    const audit = await (await req.get(`${base}/api/v1/audit?action=findings.evaluate&resource_id=${id}`)).json();
    return audit.items?.length > 0;
  });
  return id;
}

test.afterEach(async ({}, info) => reportFailure(info, page, log));

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(180_000);
  work = mkdtempSync(join(tmpdir(), 'mipo-e2e-findings-'));
  server = spawnLogged(log, 'mipo', 'node', [join(repo, 'ui/e2e/serve.mjs')], { MIPO_E2E_PORT: String(port), MIPO_DISPATCH_INTERVAL: '300ms' });
  const bin = join(work, 'mipo-scanner');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: join(repo, 'scanner'), stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });
  await until('mipo to be ready', 150_000, async () => (await fetch(base + '/readyz')).ok);

  ctx = await browser.newContext({ baseURL: base, acceptDownloads: true });
  page = await ctx.newPage();
  const req = ctx.request;
  const setup = await req.post(base + '/api/v1/setup', {
    data: { username: OWNER.username, password: OWNER.password, display_name: OWNER.display, email: 'find@example.org' },
  });
  expect(setup.status(), await setup.text()).toBeLessThan(300);
  const login = await req.post(base + '/api/v1/auth/login', { data: { username: OWNER.username, password: OWNER.password } });
  expect(login.status(), await login.text()).toBe(200);
  csrf = (await login.json()).csrf_token;

  const tok = await apiPost(req, '/api/v1/scanners/tokens', { name: 'finder', group_ids: [] });
  const conf = join(work, 'finder', 'config.json');
  execFileSync(bin, ['register', '--server', base, '--token', tok.secret, '--config', conf, '--spool', join(work, 'finder', 'spool'), '--insecure-http'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  scanners.push(spawnLogged(log, 'finder', bin, ['run', '--config', conf, '--insecure-http']));
  const scannerID = await until('the scanner to be online', 30_000, async () => {
    const list = await (await req.get(base + '/api/v1/scanners')).json();
    return list.items.find((s: { name: string; status: string }) => s.name === 'finder' && s.status === 'online')?.id;
  });

  expected = portOf(await listen());
  unexpected = portOf(await listen());
  const subnet = await apiPost(req, '/api/v1/subnets', { name: 'loopback', cidr: '127.0.0.1/32' });
  const ports = await apiPost(req, '/api/v1/port-lists', { name: 'the-two', ports: `${expected},${unexpected}` });
  const tmpl = await apiPost(req, '/api/v1/templates', {
    name: 'loopback-two-ports',
    subnets: [subnet.id],
    port_lists: [ports.id],
    scanners: { mode: 'pool', scanner_ids: [scannerID] },
    timing: { rate_limit: 1000, timeout_ms: 500, retries: 0, max_duration_seconds: 120 },
  });
  template = tmpl.id;
});

test.afterAll(async () => {
  await ctx?.close().catch(() => {});
  await Promise.all(scanners.map((s) => stop(s)));
  for (const s of listeners) await new Promise<void>((r) => s.close(() => r()));
  await stop(server);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('define a baseline that allows one port of 127.0.0.1', async () => {
  const p = page;
  await p.goto('/baselines');
  await expect(p.getByText('No baselines')).toBeVisible();
  await p.getByRole('button', { name: 'New baseline' }).click();
  const d = p.getByRole('dialog');
  await d.getByLabel('Name').fill('loopback');
  await d.getByLabel('Scope kind').selectOption('address');
  await d.getByLabel('Scope', { exact: true }).fill('127.0.0.1');
  await d.getByLabel('Ports').fill('70000');
  await d.getByRole('button', { name: 'Create baseline' }).click();
  await expect(d.getByLabel('Ports')).toHaveAttribute('aria-invalid', 'true'); // refused, naming the field
  await d.getByLabel('Ports').fill(String(expected));
  await d.getByRole('button', { name: 'Create baseline' }).click();
  await expect(p.getByRole('row').filter({ hasText: 'loopback' })).toContainText(String(expected));
});

test('a real scan finds the unexpected port; accept it with a reason; the next scan keeps it accepted', async () => {
  test.setTimeout(240_000);
  const p = page;
  const first = await scan(ctx.request);
  await p.goto(`/findings?scan=${first}`);
  const rows = p.getByRole('table', { name: 'Findings' }).getByRole('row');
  await expect(rows.filter({ hasText: '127.0.0.1' })).toHaveCount(1);
  const row = rows.filter({ hasText: String(unexpected) });
  await expect(row).toContainText('open');
  await expect(rows.filter({ hasText: new RegExp(`\\b${expected}\\b`) })).toHaveCount(0); // allowed: no finding

  await row.getByRole('checkbox').check();
  await p.getByRole('button', { name: /Accept selected/ }).click();
  const d = p.getByRole('dialog');
  await d.getByLabel('Reason').fill('test listener, ticket E2E-1');
  await d.getByRole('button', { name: 'Apply' }).click();
  await expect(row).toContainText('accepted');
  await expect(row).toContainText('test listener, ticket E2E-1');

  const second = await scan(ctx.request);
  await p.goto('/findings?address=127.0.0.1');
  const again = p.getByRole('table', { name: 'Findings' }).getByRole('row').filter({ hasText: String(unexpected) });
  await expect(again).toContainText('accepted');
  await expect(again).toContainText('#1');
  const f = await (await ctx.request.get(`${base}/api/v1/findings?address=127.0.0.1`)).json();
  expect(f.items[0].last_scan_id).toBe(second);
  expect(f.address.allowed).toBe(String(expected));
  expect(f.address.history.map((e: { action: string }) => e.action)).toEqual(['opened', 'accepted']);

  // The address's host page shows the baseline that applies, the finding and its triage history.
  await p.goto('/hosts/127.0.0.1');
  const mine = p.getByRole('region', { name: 'Findings' });
  await expect(mine).toContainText(`Expected: ${expected}`);
  const hostRow = mine.getByRole('table', { name: 'Findings of the address' }).getByRole('row').filter({ hasText: String(unexpected) });
  await expect(hostRow).toContainText('accepted');
  await expect(hostRow).toContainText('test listener, ticket E2E-1');
  await expect(mine.locator('ol.history li')).toHaveText([/opened/, /accepted.*test listener, ticket E2E-1/]);
});

test('download an evidence pack of 127.0.0.1 for today', async () => {
  const p = page;
  await p.goto('/findings');
  await p.getByRole('button', { name: 'Evidence pack' }).click();
  const d = p.getByRole('dialog');
  await d.getByLabel('Scope value').fill('127.0.0.1/32');
  const pad = (n: number) => String(n).padStart(2, '0');
  const local = (t: Date) => `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
  await d.getByLabel('From').fill(local(new Date(Date.now() - 3600_000)));
  await d.getByLabel('To').fill(local(new Date(Date.now() + 3600_000)));
  const download = p.waitForEvent('download');
  await d.getByRole('link', { name: 'Download' }).click();
  const file = await (await download).path();
  const body = readFileSync(file!);
  expect(body.includes(Buffer.from('manifest.json'))).toBe(true);
  expect(body.includes(Buffer.from('manifest.sig'))).toBe(true);
  expect(body.includes(Buffer.from('test listener, ticket E2E-1'))).toBe(true);
  const audit = await (await ctx.request.get(`${base}/api/v1/audit?action=evidence.export`)).json();
  expect(audit.items).toHaveLength(1);
});
