// Alarms end to end in a real browser, against a real `mipo serve` (all roles, its own embedded
// PostgreSQL) and a real mipo-scanner: a webhook channel is made on the Channels page and its
// Test button sends a signed message to a receiver this file runs (verified here with Node's
// crypto, not mipo's code); then the scanner is killed, the heartbeat-lost alarm appears on the
// Alarms page with the count in the navigation, is acknowledged there, and resolves when the
// scanner runs again.
//
// A scanner is marked offline 2 minutes after its last heartbeat (checked every 15 s), so the
// second test waits that long on the real clock.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { reportFailure, serverPort, spawnLogged, stop, until } from './processes';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWNER = { username: 'alarm-owner', password: 'Tr0ub4dor-and-3-more-alarms', display: 'Alex Alarms' };

test.describe.configure({ mode: 'serial' });

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = serverPort();
const base = `http://127.0.0.1:${port}`;
let work = '';
const log: string[] = [];
let server: ChildProcess | undefined;
let scanner: ChildProcess | undefined;
let scannerBin = '';
let scannerConf = '';
let ctx: BrowserContext;
let page: Page;
let csrf = '';

// The webhook receiver: keeps each request and whether its Standard Webhooks signature holds.
interface Hook {
  id: string;
  verified: boolean;
  body: { type: string; data: { alarm: { rule_id: string } } };
}
const hooks: Hook[] = [];
let secret = '';
let receiver: http.Server;
let receiverURL = '';

/** Standard Webhooks, written from the specification: HMAC-SHA256 over id.timestamp.body with the base64 key after whsec_. */
function verify(headers: http.IncomingHttpHeaders, body: string): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const ts = String(headers['webhook-timestamp'] ?? '');
  if (!secret || !id || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const want = createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'))
    .update(`${id}.${ts}.${body}`)
    .digest();
  return String(headers['webhook-signature'] ?? '')
    .split(' ')
    .some((sig) => {
      const [version, b64] = sig.split(',');
      const got = Buffer.from(b64 ?? '', 'base64');
      return version === 'v1' && got.length === want.length && timingSafeEqual(got, want);
    });
}

const runScanner = () => (scanner = spawnLogged(log, 'scanner', scannerBin, ['run', '--config', scannerConf, '--insecure-http']));
const scannerStatus = async () =>
  ((await (await ctx.request.get(base + '/api/v1/scanners')).json()).items as { name: string; status: string }[]).find((s) => s.name === 'edge-alarm')?.status;

test.afterEach(async ({}, info) => reportFailure(info, page, log));

test.beforeAll(async ({ browser }) => {
  test.setTimeout(150_000);
  work = mkdtempSync(join(tmpdir(), 'mipo-e2e-alarms-'));
  server = spawnLogged(log, 'mipo', 'node', [join(repo, 'ui/e2e/serve.mjs')], { MIPO_E2E_PORT: String(port) });
  scannerBin = join(work, 'mipo-scanner');
  execFileSync('go', ['build', '-o', scannerBin, '.'], { cwd: join(repo, 'scanner'), stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({ id: String(req.headers['webhook-id']), verified: verify(req.headers, body), body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverURL = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  await until('mipo to be ready', 120_000, async () => (await fetch(base + '/readyz')).ok);

  ctx = await browser.newContext({ baseURL: base });
  page = await ctx.newPage();
  const req = ctx.request;
  const setup = await req.post(base + '/api/v1/setup', {
    data: { username: OWNER.username, password: OWNER.password, display_name: OWNER.display, email: 'alarms@example.org', public_fqdn: 'mipo.example.org' },
  });
  expect(setup.status(), await setup.text()).toBeLessThan(300);
  const login = await req.post(base + '/api/v1/auth/login', { data: { username: OWNER.username, password: OWNER.password } });
  expect(login.status(), await login.text()).toBe(200);
  csrf = (await login.json()).csrf_token;

  const tok = await (await req.post(base + '/api/v1/scanners/tokens', { data: { name: 'edge-alarm' }, headers: { 'X-CSRF-Token': csrf } })).json();
  scannerConf = join(work, 'edge', 'config.json');
  execFileSync(scannerBin, ['register', '--server', base, '--token', tok.secret, '--config', scannerConf, '--spool', join(work, 'edge', 'spool'), '--insecure-http'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  runScanner();
  await until('the scanner to be online', 30_000, async () => (await scannerStatus()) === 'online');
});

test.afterAll(async () => {
  await ctx?.close().catch(() => {});
  await stop(scanner);
  receiver?.close();
  await stop(server);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a webhook channel made on its page sends a signed test message', async () => {
  await page.goto('/alarms/channels');
  await page.getByRole('button', { name: 'New channel' }).click();
  const d = page.getByRole('dialog', { name: 'New channel' });
  await d.getByLabel('Name').fill('on-call hook');
  await d.getByLabel('URL').fill(receiverURL);
  await d.getByRole('button', { name: 'Create channel' }).click();
  const shown = page.getByTestId('signing-secret');
  await expect(shown).toHaveText(/^whsec_/);
  secret = (await shown.textContent())!.trim();
  await page.getByRole('dialog', { name: 'Signing secret' }).getByRole('button', { name: 'Done' }).click();

  const row = page.locator('tr[data-channel="on-call hook"]');
  await row.getByRole('button', { name: 'Test' }).click();
  await expect(row.getByTestId('test-result')).toContainText('delivered');
  await until('the test message', 10_000, async () => hooks.find((h) => h.body.type === 'test'));
  const test = hooks.find((h) => h.body.type === 'test')!;
  expect(test.verified, 'the test message carries a valid Standard Webhooks signature').toBe(true);

  // The first channel got the default route (critical and major alarms).
  await page.goto('/alarms/routes');
  await expect(page.getByRole('table', { name: 'Routes' })).toContainText('critical, major');
  // The test is in the delivery log.
  await page.goto('/alarms/deliveries');
  await expect(page.getByRole('table', { name: 'Deliveries' })).toContainText('test');
});

test('a stopped scanner raises an alarm; it is acknowledged and resolves when the scanner returns', async () => {
  test.setTimeout(300_000);
  await stop(scanner, 'SIGKILL');
  await page.goto('/alarms?state=unresolved');
  const row = page.locator('tr[data-alarm^="scanner.heartbeat.lost:"]');
  // Offline after 2 minutes of silence, found by a check every 15 s; the list polls every 10 s.
  await expect(row).toContainText('scanner edge-alarm stopped sending heartbeats', { timeout: 200_000 });
  await expect(row).toContainText('major');
  await expect(page.getByTestId('open-alarms')).toHaveText(/^[1-9]/, { timeout: 20_000 });

  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: /Acknowledge selected \(1\)/ }).click();
  const d = page.getByRole('dialog', { name: 'Acknowledge alarm' });
  await d.getByLabel('Comment').fill('checking the host');
  await d.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(row).toContainText('acknowledged');

  await row.getByRole('link').click();
  await expect(page.getByRole('list', { name: 'Timeline' })).toContainText('checking the host');
  await expect(page.getByTestId('alarm-state')).toHaveText('acknowledged');

  runScanner();
  await until('the scanner to be back', 60_000, async () => (await scannerStatus()) === 'online');
  await expect(page.getByTestId('alarm-state')).toHaveText('resolved', { timeout: 30_000 });
  const timeline = page.getByRole('list', { name: 'Timeline' });
  await expect(timeline).toContainText('opened');
  await expect(timeline).toContainText('acknowledged');
  await expect(timeline).toContainText('resolved');

  // The receiver heard the opening and the resolution (major goes through the default route).
  const about = () => hooks.filter((h) => h.body.data?.alarm?.rule_id === 'scanner.heartbeat.lost').map((h) => h.body.type);
  await until('the notifications', 30_000, async () => about().includes('alarm.resolved'));
  expect(about()).toEqual(['alarm.opened', 'alarm.acknowledged', 'alarm.resolved']);
  expect(hooks.every((h) => h.verified)).toBe(true);
});
