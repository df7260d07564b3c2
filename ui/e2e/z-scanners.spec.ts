// Scanners in a real browser against a real mipo: add a scanner and copy its install command;
// a real mipo-scanner registers with the token from that command (as the installer would) and
// runs, while the dialog follows it from "waiting" to "connected"; then disable and enable it,
// rotate its key (the old key refused at once), and export the firewall allowlist in each
// format.
//
// Test files run in name order against one server; this one runs after ui.spec.ts, whose first
// test is the setup wizard, and signs in as the owner that story made. Run alone, it makes the
// owner itself.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownerPage } from './owner';
import { reportFailure, spawnLogged, stop } from './processes';

test.describe.configure({ mode: 'serial' });

const repo = fileURLToPath(new URL('../..', import.meta.url));
let p: Page;
let apiKey = '';
let scannerURL = '';
// Made in beforeAll, not here: Playwright also loads this file in its runner process.
let work = '';
let scannerBin = '';
let scanner: ChildProcess | undefined;
const log: string[] = [];

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  work = mkdtempSync(join(tmpdir(), 'mipo-e2e-scanners-'));
  scannerBin = join(work, 'mipo-scanner');
  execFileSync('go', ['build', '-o', scannerBin, '.'], { cwd: join(repo, 'scanner'), stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });
  p = await ownerPage(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  await p.goto('/');
  await expect(p.getByRole('navigation', { name: 'Main' })).toContainText('Scanners');
});

test.afterEach(async ({}, info) => reportFailure(info, p, log));

test.afterAll(async () => {
  await stop(scanner);
  await p.context().close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const nav = () => p.getByRole('navigation', { name: 'Main' });
const dialog = () => p.getByRole('dialog');
const heartbeat = (key: string) =>
  p.request.post('/scanner/v1/heartbeat', {
    headers: { Authorization: `Bearer ${key}` },
    data: { version: 'e2e', hostname: 'edge-host', capacity: { max_concurrency: 100, max_rate: 1000, fd_limit: 1024 }, metrics: { cpu_percent: 5 }, active_jobs: [] },
  });

test('add a scanner: the install command is shown once, copied, and its token registers the scanner', async () => {
  await nav().getByRole('link', { name: 'Scanners', exact: true }).click();
  await expect(p).toHaveURL(/\/scanners$/);
  await p.getByRole('button', { name: 'Add scanner' }).click();
  await dialog().getByLabel('Scanner name').fill('e2e-edge');
  await dialog().getByLabel('Binding').fill('10.0.0.1/8');
  await dialog().getByRole('button', { name: 'Create install command' }).click();
  await expect(dialog().getByText('did you mean 10.0.0.0/8?')).toBeVisible();
  await dialog().getByLabel('Binding').fill('127.0.0.0/8');
  await dialog().getByRole('button', { name: 'Create install command' }).click();

  const command = (await dialog().getByTestId('install-command').textContent())!;
  await expect(dialog().getByTestId('default-capacity')).toContainText('2,000 connection attempts in flight and 20,000 per second');
  await expect(dialog().getByTestId('default-capacity')).toContainText('add --max-rate N, --max-concurrency N or --max-jobs N after sh -s --');
  expect(command).toMatch(/^curl -fsSL .*\/scanner\/install\.sh' \| sudo sh -s -- --server '.*' --token 'mpt_[a-z2-7]{16}_[A-Za-z0-9_-]{43}'/);
  await dialog().getByRole('button', { name: 'Copy command' }).click();
  await expect(dialog().getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await p.evaluate(() => navigator.clipboard.readText())).toBe(command);

  // What the installer does with the token, by a real mipo-scanner, while the dialog stays open
  // and follows it: it registers (the token is used), then runs and sends its first heartbeat.
  const status = dialog().getByTestId('provisioning-status');
  await expect(status).toHaveText('Waiting for the scanner to register…');
  const token = command.match(/--token '([^']+)'/)![1];
  const server = new URL(p.url()).origin; // the command names the public FQDN, which is not this test server
  const conf = join(work, 'edge', 'config.json');
  execFileSync(scannerBin, ['register', '--server', server, '--token', token, '--config', conf, '--spool', join(work, 'edge', 'spool'), '--insecure-http'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await expect(status).toHaveText('Registered; waiting for the first heartbeat…');
  scanner = spawnLogged(log, 'e2e-edge', scannerBin, ['run', '--config', conf, '--insecure-http']);
  await expect(status).toHaveText('Connected: the scanner is online.');
  await dialog().getByRole('button', { name: 'Done' }).click();
  await expect(p.getByText(command)).toHaveCount(0);
  const again = await p.request.post('/scanner/v1/register', { data: { token } });
  expect(again.status()).toBe(401);

  // The rest of the story speaks for the scanner with its key, by hand: the process stops here.
  await stop(scanner);
  apiKey = readFileSync(JSON.parse(readFileSync(conf, 'utf8')).key_file, 'utf8').trim();
  expect(apiKey).toMatch(/^msk_/);
  expect((await heartbeat(apiKey)).status()).toBe(200);

  // The list behind the dialog kept itself current: no reload.
  const row = p.getByRole('row').filter({ hasText: 'e2e-edge' });
  await expect(row).toHaveCount(1); // the scanner; its token is no longer pending
  await expect(row).toContainText('online');
  await expect(row).toContainText('127.0.0.0/8');
  await row.getByRole('link', { name: 'e2e-edge' }).click();
  await expect(p).toHaveURL(/\/scanners\/[0-9a-f-]{36}$/);
  scannerURL = p.url();
});

test('the fleet page and a scanner page read the server once on open', async () => {
  const seen: string[] = [];
  const record = (r: { url(): string }) => seen.push(new URL(r.url()).pathname);
  p.on('request', record);
  await p.goto('/scanners/health');
  await expect(p.getByTestId('fleet-counts')).toBeVisible();
  await p.waitForLoadState('networkidle');
  expect(seen.filter((u) => u === '/api/v1/scanners/health')).toHaveLength(1);
  seen.length = 0;
  await p.goto(scannerURL);
  await expect(p.getByTestId('scanner-status')).toBeVisible();
  await p.waitForLoadState('networkidle');
  expect(seen.filter((u) => /^\/api\/v1\/scanners\/[0-9a-f-]{36}$/.test(u))).toHaveLength(1);
  p.off('request', record);
});

test('disable and enable: a disabled scanner is refused, and comes back', async () => {
  await p.goto(scannerURL);
  await expect(p.getByTestId('scanner-status')).toHaveText('online');
  await p.getByRole('button', { name: 'Disable' }).click();
  await dialog().getByRole('button', { name: 'Disable scanner' }).click();
  await expect(p.getByTestId('scanner-status')).toHaveText('disabled');
  const refused = await heartbeat(apiKey);
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe('scanner_disabled');

  await p.getByRole('button', { name: 'Enable' }).click();
  await expect(p.getByTestId('scanner-status')).toHaveText('offline');
  expect((await heartbeat(apiKey)).status()).toBe(200);
  await p.reload();
  await expect(p.getByTestId('scanner-status')).toHaveText('online');
  await expect(p.getByRole('cell', { name: 'disabled', exact: true })).toBeVisible(); // connection history
});

test('rotate the key: the new one is shown once, the old one dies at once', async () => {
  await p.goto(scannerURL);
  const before = await p.getByTestId('key-prefix').textContent();
  await p.getByRole('button', { name: 'Rotate key' }).click();
  await dialog().getByRole('button', { name: 'Rotate key' }).click();
  const fresh = (await dialog().getByTestId('new-key').textContent())!;
  expect(fresh).toMatch(/^msk_/);
  expect(fresh).not.toBe(apiKey);
  expect((await heartbeat(apiKey)).status()).toBe(401);
  expect((await heartbeat(fresh)).status()).toBe(200);
  await dialog().getByRole('button', { name: 'Done' }).click();
  await expect(p.getByTestId('key-prefix')).not.toHaveText(before!);
  await expect(p.getByText(fresh)).toHaveCount(0);
  apiKey = fresh;
});

test('export the allowlist as iptables, nginx and Cloudflare rules', async () => {
  await nav().getByRole('link', { name: 'Firewall allowlist' }).click();
  const rules = p.getByTestId('firewall-rules');
  await expect(rules).toContainText('iptables -A MIPO-SCANNERS -s 127.0.0.0/8 -m comment --comment "mipo scanner e2e-edge" -j ACCEPT');
  await p.getByLabel('Format').selectOption('nginx');
  await expect(rules).toContainText('allow 127.0.0.0/8; # e2e-edge');
  await expect(rules).toContainText('deny all;');
  await p.getByLabel('Format').selectOption('cloudflare');
  // Cloudflare takes IPv4 ranges of /16 and /24 only: the /8 is cut into 256 /16s, never widened.
  await expect(rules).toContainText('"value": "127.255.0.0/16"');
  const json = JSON.parse((await rules.textContent())!);
  const mine = json.rules.filter((r: any) => r.notes === 'mipo scanner e2e-edge');
  expect(mine).toHaveLength(256);
  expect(mine.every((r: any) => r.mode === 'whitelist' && r.configuration.target === 'ip_range')).toBe(true);
  const download = p.waitForEvent('download');
  await p.getByRole('link', { name: 'Download' }).click();
  expect((await download).suggestedFilename()).toBe('mipo-scanners-cloudflare.json');
});
