// Live pages with a real mipo-scanner, in a real browser, never reloaded: a scans list opened
// before a launch made elsewhere (the API, here) shows the new scan and follows it to its end;
// a scanner that is killed turns offline on the open scanners list, its own page and the fleet
// page.
//
// This file runs its own `mipo serve` (e2e/serve.mjs, unchanged, on another port) with an offline
// window of 8 s (MIPO_SCANNER_OFFLINE_AFTER; ingest then asks for a heartbeat every 4 s), so a
// killed scanner goes offline in seconds without shortening the window the other stories share.
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { ownMipo, reportFailure, serverPort, spawnLogged, stop, until } from './processes';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWNER = { username: 'live-owner', password: 'Tr0ub4dor-and-3-more-live', display: 'Lee Live' };
const WINDOW_S = 8;

test.describe.configure({ mode: 'serial' });

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = serverPort();
const base = `http://127.0.0.1:${port}`;
// Made in beforeAll, not here: Playwright also loads this file in its runner process.
let work = '';
const log: string[] = [];
let server: ChildProcess | undefined;
let scanner: ChildProcess | undefined;
let listener: net.Server | undefined;
let ctx: BrowserContext;
let page: Page;
let csrf = '';
const ids = { scanner: '', template: '' };

async function apiPost(req: APIRequestContext, path: string, body: unknown) {
  const r = await req.post(base + path, { data: body, headers: { 'X-CSRF-Token': csrf } });
  expect(r.status(), `${path}: ${await r.text()}`).toBeLessThan(300);
  return r.json();
}

/** Marks a page so that a reload or a navigation (which would drop the mark) shows. */
const mark = (p: Page) => p.evaluate(() => ((window as unknown as { liveMark: string }).liveMark = 'kept'));
const marked = (p: Page) => p.evaluate(() => (window as unknown as { liveMark?: string }).liveMark);

test.afterEach(async ({}, info) => reportFailure(info, page, log));

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(150_000);
  work = mkdtempSync(join(tmpdir(), 'mipo-e2e-live-'));
  let bin: string;
  ({ bin, ctx, page, csrf } = await ownMipo(browser, {
    log, work, port, owner: OWNER, email: 'live@example.org', readyMs: 120_000, onServer: (s) => (server = s),
    env: { MIPO_SCANNER_OFFLINE_AFTER: `${WINDOW_S}s`, MIPO_DISPATCH_INTERVAL: '300ms' },
  }));
  const req = ctx.request;

  // A real scanner, provisioned as the installer would, and something for it to find.
  const tok = await apiPost(req, '/api/v1/scanners/tokens', { name: 'live-eye' });
  const conf = join(work, 'live-eye', 'config.json');
  execFileSync(bin, ['register', '--server', base, '--token', tok.secret, '--config', conf, '--spool', join(work, 'live-eye', 'spool'), '--insecure-http'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  scanner = spawnLogged(log, 'live-eye', bin, ['run', '--config', conf, '--insecure-http']);
  ids.scanner = await until('the scanner to be online', 30_000, async () => {
    const list = await (await req.get(base + '/api/v1/scanners')).json();
    return list.items.find((s: { name: string; status: string; metrics: unknown }) => s.name === 'live-eye' && s.status === 'online' && s.metrics)?.id;
  });
  listener = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', () => r()));
  const open = (listener.address() as net.AddressInfo).port;
  const subnet = await apiPost(req, '/api/v1/subnets', { name: 'loopback', cidr: '127.0.0.1/32' });
  const ports = await apiPost(req, '/api/v1/port-lists', { name: 'the-listener', ports: String(open) });
  const tmpl = await apiPost(req, '/api/v1/templates', {
    name: 'live-loopback',
    subnets: [subnet.id],
    port_lists: [ports.id],
    scanners: { mode: 'pool', scanner_ids: [ids.scanner] },
    timing: { rate_limit: 100, timeout_ms: 500, retries: 0, max_duration_seconds: 60 },
  });
  ids.template = tmpl.id;
});

test.afterAll(async () => {
  await ctx?.close().catch(() => {});
  await stop(scanner);
  listener?.close();
  await stop(server);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a scans list opened before a launch elsewhere shows the new scan and its end, without a reload', async () => {
  await page.goto('/scans');
  await expect(page.getByText('No scans yet')).toBeVisible();
  await mark(page);
  const launched = await apiPost(ctx.request, '/api/v1/scans', { template_id: ids.template });
  expect(launched.items).toHaveLength(1);
  const row = page.getByTestId('scan-row').filter({ has: page.locator(`a[href="/scans/${launched.items[0].id}"]`) });
  // The list polls every 3 s.
  await expect(row).toBeVisible({ timeout: 8_000 });
  await expect(row).toContainText('live-loopback');
  await expect(row).toContainText('completed', { timeout: 30_000 });
  await expect(row).toContainText('100%');
  expect(await marked(page), 'the scans list was not reloaded').toBe('kept');
});

test('a killed scanner turns offline on the open scanners list, its page and the fleet page, without a reload', async () => {
  test.setTimeout(120_000);
  const list = page;
  await list.goto('/scanners');
  const row = list.getByRole('row').filter({ has: list.getByRole('link', { name: 'live-eye', exact: true }) });
  await expect(row).toContainText('online');
  const fleet = await ctx.newPage();
  await fleet.goto('/scanners/health');
  const fleetStatus = fleet.getByTestId('fleet-row-live-eye').locator('td').nth(1);
  await expect(fleetStatus).toContainText('online');
  const one = await ctx.newPage();
  await one.goto(`/scanners/${ids.scanner}`);
  await expect(one.getByTestId('scanner-status')).toHaveText('online');
  for (const p of [list, fleet, one]) await mark(p);

  // Running, it outlives the short window: its heartbeats keep it online.
  await list.waitForTimeout((WINDOW_S + 3) * 1000);
  await expect(row).toContainText('online');

  const killed = Date.now();
  await stop(scanner, 'SIGKILL');
  // Offline at most a window (plus the check every 2 s) after its last heartbeat, which came at
  // most 4 s before the kill; the list polls every 2 s, a scanner's page and the fleet page
  // every 15 s.
  await expect(row).toContainText('offline', { timeout: (WINDOW_S + 10) * 1000 });
  console.log(`the scanners list showed the killed scanner offline ${((Date.now() - killed) / 1000).toFixed(1)} s after the kill (window ${WINDOW_S} s)`);
  await expect(fleetStatus).toContainText('offline', { timeout: 30_000 });
  await expect(fleet.getByTestId('fleet-counts')).toContainText('0 online · 1 offline');
  await expect(one.getByTestId('scanner-status')).toHaveText('offline', { timeout: 30_000 });
  await expect(one.getByRole('cell', { name: 'offline', exact: true })).toBeVisible(); // its connection history
  for (const p of [list, fleet, one]) expect(await marked(p), `${p.url()} was not reloaded`).toBe('kept');
  await fleet.close();
  await one.close();
});
