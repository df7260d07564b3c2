// Scans end to end in a real browser: a real mipo-scanner, provisioned through the API, scans
// 127.0.0.1 for a template launched from the Scans page; the scan's page shows its progress
// move and stop at 100%; its results hold a port the test opened; after one listener closes
// and another opens, a second scan's diff shows exactly that change. Then schedules.
//
// This file runs its own `mipo serve` (e2e/serve.mjs, unchanged, on another port): it needs a
// fresh install whatever other spec files ran before it, scans the whole port range of the
// loopback address, and asks the dispatcher to look for work every 300 ms instead of 2 s.
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { ownMipo, reportFailure, serverPort, spawnLogged, stop, until } from './processes';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWNER = { username: 'scan-owner', password: 'Tr0ub4dor-and-3-more-scans', display: 'Sam Scans' };
// 65,535 ports at 4,000 attempts per second: about 16 s per scan, so the scanner's progress
// report (every 10 s) lands while the page watches.
const RATE = 4000;

test.describe.configure({ mode: 'serial' });

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = serverPort();
const base = `http://127.0.0.1:${port}`;
// Made in beforeAll, not here: Playwright also loads this file in its runner process.
let work = '';
const log: string[] = [];

let server: ChildProcess | undefined;
const scanners: ChildProcess[] = [];
let scannerBin = '';
let ctx: BrowserContext;
let page: Page;
let csrf = '';
const ids = { scanner: '', subnet: '', template: '', big: '', scans: [] as string[] };

// Listeners on 127.0.0.1: "closing" is open for the first scan only, "opening" for the second only.
const listeners: net.Server[] = [];
let closing: net.Server;
let closingPort = 0;
let openingPort = 0;

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

/** Provisions and runs a real scanner, as an operator would with the install command; returns its id once online. */
async function startScanner(req: APIRequestContext, name: string, groups: string[] = []): Promise<string> {
  const tok = await apiPost(req, '/api/v1/scanners/tokens', { name, group_ids: groups });
  const conf = join(work, name, 'config.json');
  execFileSync(scannerBin, ['register', '--server', base, '--token', tok.secret, '--config', conf, '--spool', join(work, name, 'spool'), '--insecure-http'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  scanners.push(spawnLogged(log, name, scannerBin, ['run', '--config', conf, '--insecure-http']));
  return until(`${name} to be online`, 30_000, async () => {
    const list = await (await req.get(base + '/api/v1/scanners')).json();
    return list.items.find((s: { name: string; status: string }) => s.name === name && s.status === 'online')?.id;
  });
}

async function apiPost(req: APIRequestContext, path: string, body: unknown) {
  const r = await req.post(base + path, { data: body, headers: { 'X-CSRF-Token': csrf } });
  expect(r.status(), `${path}: ${await r.text()}`).toBeLessThan(300);
  return r.json();
}

// The page is photographed when a test fails, with what mipo and the scanner said.
test.afterEach(async ({}, info) => reportFailure(info, page, log));

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(120_000);
  work = mkdtempSync(join(tmpdir(), 'mipo-e2e-scans-'));
  // mipo on its own embedded PostgreSQL, and the scanner built from this checkout.
  let bin: string;
  ({ bin, ctx, page, csrf } = await ownMipo(browser, {
    log, work, port, owner: OWNER, email: 'scans@example.org', onServer: (s) => (server = s), env: { MIPO_DISPATCH_INTERVAL: '300ms' },
  }));
  const req = ctx.request;

  scannerBin = bin;
  ids.scanner = await startScanner(req, 'loopback-eye');

  // The listeners: "closing" is open for the first scan; "opening" is reserved now and opened
  // only for the second.
  closing = await listen();
  closingPort = portOf(closing);
  const reserve = await listen();
  openingPort = portOf(reserve);
  listeners.pop();
  await closeServer(reserve);

  // What to scan: the loopback address, every port, through the scanner's pool.
  const subnet = await apiPost(req, '/api/v1/subnets', { name: 'loopback', cidr: '127.0.0.1/32' });
  ids.subnet = subnet.id;
  const ports = await apiPost(req, '/api/v1/port-lists', { name: 'every-port', ports: '1-65535' });
  const timing = { rate_limit: RATE, timeout_ms: 500, retries: 0, max_duration_seconds: 300 };
  const tmpl = await apiPost(req, '/api/v1/templates', {
    name: 'loopback-all-ports',
    subnets: [subnet.id],
    port_lists: [ports.id],
    scanners: { mode: 'pool', scanner_ids: [ids.scanner] },
    timing,
  });
  ids.template = tmpl.id;
  // And one too large to scan: 10.0.0.0/8 × 65,535 ports is over the default limit. Such a
  // template is refused at save, so it is saved over a /24 whose subnet then grows: the launch
  // still refuses what the template has become.
  const wide = await apiPost(req, '/api/v1/subnets', { name: 'ten-slash-eight', cidr: '10.0.0.0/24' });
  const big = await apiPost(req, '/api/v1/templates', {
    name: 'far-too-big',
    subnets: [wide.id],
    port_lists: [ports.id],
    scanners: { mode: 'pool', scanner_ids: [ids.scanner] },
    timing,
  });
  ids.big = big.id;
  const grown = await req.patch(base + '/api/v1/subnets/' + wide.id, { data: { cidr: '10.0.0.0/8' }, headers: { 'X-CSRF-Token': csrf } });
  expect(grown.status(), await grown.text()).toBe(200);
});

test.afterAll(async () => {
  await ctx?.close().catch(() => {});
  await Promise.all(scanners.map((s) => stop(s)));
  for (const s of listeners) await closeServer(s).catch(() => {});
  await stop(server);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Launches the template from the Scans page and returns the new scan's id (its page is open). */
async function launch(p: Page, template: string): Promise<string> {
  await p.goto('/scans');
  await p.getByRole('button', { name: 'Launch scan' }).first().click();
  const d = p.getByRole('dialog', { name: 'Launch a scan' });
  await d.getByLabel('Template', { exact: true }).selectOption({ label: template });
  await d.getByRole('button', { name: 'Launch', exact: true }).click();
  await expect(p).toHaveURL(/\/scans\/[0-9a-f-]{36}$/);
  return p.url().split('/').pop()!;
}

/** Watches the scan's page until it completes; returns every percentage it showed before 100%. */
async function watch(p: Page): Promise<string[]> {
  const seen: string[] = [];
  const percent = p.getByTestId('scan-percent');
  const status = p.getByTestId('scan-status');
  const end = Date.now() + 60_000;
  for (;;) {
    const [s, v] = await Promise.all([status.textContent(), percent.textContent()]);
    if (s === 'completed') break;
    expect(['pending', 'running'], `the scan ended ${s}`).toContain(s);
    // Every job may be done a moment before the dispatcher marks the scan completed.
    if (v && v !== '100%' && seen.at(-1) !== v) seen.push(v.trim());
    if (Date.now() > end) throw new Error(`the scan did not complete; it showed ${seen.join(', ')}`);
    await p.waitForTimeout(150);
  }
  await expect(percent).toHaveText('100%');
  return seen;
}

test('a scope too large is refused on the launch dialog, saying how large and the limit', async () => {
  const p = page;
  await p.goto('/scans');
  await expect(p.getByText('No scans yet')).toBeVisible();
  await p.getByRole('button', { name: 'Launch scan' }).first().click();
  const d = p.getByRole('dialog', { name: 'Launch a scan' });
  const pick = d.getByLabel('Template', { exact: true });
  await pick.selectOption({ label: 'far-too-big' });
  await d.getByRole('button', { name: 'Launch', exact: true }).click();
  await expect(pick).toHaveAttribute('aria-invalid', 'true');
  const err = d.locator('.field-error');
  await expect(err).toContainText('Too large to scan: 16,777,216 addresses × 65,535 ports = 1,099,494,850,560 connection attempts');
  await expect(err).toContainText('over the limit of 100,000,000,000');
  await p.keyboard.press('Escape');
  await expect(p.getByTestId('scan-row')).toHaveCount(0); // nothing was recorded
});

test('launch a scan, watch its progress move to 100%, open its results', async () => {
  test.setTimeout(90_000);
  const p = page;
  const id = await launch(p, 'loopback-all-ports');
  ids.scans.push(id);
  const scope = p.getByTestId('scan-scope');
  await expect(scope).toContainText('127.0.0.1');
  await expect(scope).toContainText('1-65535');
  await expect(p.getByRole('status').filter({ hasText: 'live' })).toBeVisible();

  const started = Date.now();
  const seen = await watch(p);
  console.log(`scan progress shown before 100%: ${seen.join(' → ')} (launch to completed in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const values = seen.map((v) => parseFloat(v));
  expect(new Set(seen).size, `percentages seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
  expect(values.every((v) => v < 100), `percentages seen: ${seen.join(', ')}`).toBe(true);
  expect(values.some((v) => v > 0 && v < 100), `a value between 0 and 100 among ${seen.join(', ')}`).toBe(true);
  expect([...values].sort((a, b) => a - b), 'progress never goes back').toEqual(values);

  // Ended: the figures are final, the jobs are done, and the page stops asking.
  await expect(p.getByTestId('ports-probed')).toHaveText('65,535 / 65,535');
  await expect(p.getByTestId('job-row')).toHaveCount(1);
  await expect(p.getByTestId('job-row')).toContainText('done');
  await expect(p.getByRole('status').filter({ hasText: 'live' })).toHaveCount(0);
  let polls = 0;
  const count = (r: { url(): string }) => r.url().endsWith(`/api/v1/scans/${id}`) && polls++;
  p.on('request', count);
  await p.waitForTimeout(4500);
  p.off('request', count);
  expect(polls, 'requests for the scan after it ended').toBe(0);

  // Its results: the port the test opened, with the scanner's name, filtered by port.
  await p.getByRole('main').getByRole('link', { name: 'Results', exact: true }).click();
  await expect(p).toHaveURL(new RegExp(`/results\\?scan=${id}$`));
  await p.getByRole('searchbox', { name: 'Ports' }).fill(String(closingPort));
  await expect(p).toHaveURL(new RegExp(`ports=${closingPort}`));
  const row = p.getByTestId('result-row');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('127.0.0.1');
  await expect(row).toContainText(String(closingPort));
  await expect(row).toContainText('loopback-eye');

  // The export holds the same filter.
  const [csv] = await Promise.all([p.waitForEvent('download'), p.getByRole('link', { name: 'Export CSV' }).click()]);
  const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
  expect(lines[0]).toContain('address');
  expect(lines.length).toBe(2);
  expect(lines[1]).toContain(`127.0.0.1,${closingPort},`);
});

test('one listener closes and another opens: the second scan’s diff shows exactly that', async () => {
  test.setTimeout(90_000);
  const p = page;
  await closeServer(closing);
  listeners.splice(listeners.indexOf(closing), 1);
  await listen(openingPort);

  const id = await launch(p, 'loopback-all-ports');
  ids.scans.push(id);
  await watch(p);

  await p.getByRole('link', { name: 'Diff against previous' }).click();
  await expect(p).toHaveURL(new RegExp(`/diff\\?scan=${id}$`));
  const diff = p.getByTestId('diff');
  await expect(diff).toContainText(ids.scans[0].slice(0, 8)); // from the first scan…
  await expect(diff).toContainText(id.slice(0, 8)); // …to this one
  // Loopback may hold other programs' listeners that came and went meanwhile: look for ours.
  const opened = p.getByTestId('diff-opened').filter({ hasText: String(openingPort) });
  const closed = p.getByTestId('diff-closed').filter({ hasText: String(closingPort) });
  await expect(opened).toHaveCount(1);
  await expect(opened).toContainText('127.0.0.1');
  await expect(closed).toHaveCount(1);
  await expect(closed).toContainText('127.0.0.1');
  await expect(p.getByTestId('diff-opened').filter({ hasText: String(closingPort) })).toHaveCount(0);
  await expect(p.getByTestId('diff-closed').filter({ hasText: String(openingPort) })).toHaveCount(0);
  // The template is picked in the form, and the comparison survives a reload.
  await expect(p.getByLabel('Template', { exact: true })).toHaveValue(ids.template);
  await p.reload();
  await expect(p.getByTestId('diff-closed').filter({ hasText: String(closingPort) })).toHaveCount(1);

  // Between two times: the template's last completed scan by a moment after the first scan
  // ended, against its last one by now, is the same change.
  const first = await (await ctx.request.get(`${base}/api/v1/scans/${ids.scans[0]}`)).json();
  const after = new Date(new Date(first.scan.finished_at).getTime() + 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await p.goto(`/diff?template=${ids.template}&from=${encodeURIComponent(after)}`);
  await expect(p.getByLabel('Between two times')).toBeChecked();
  await expect(p.getByLabel('From (UTC)')).toHaveValue(after.slice(0, 16));
  await expect(p.getByTestId('diff-opened').filter({ hasText: String(openingPort) })).toHaveCount(1);
  await expect(p.getByTestId('diff-closed').filter({ hasText: String(closingPort) })).toHaveCount(1);
  // A time before any scan finished is refused on its field.
  await p.getByLabel('From (UTC)').fill('2001-01-01T00:00');
  await p.getByRole('button', { name: 'Compare' }).click();
  await expect(p).toHaveURL(/from=2001-01-01T00%3A00%3A00Z/);
  await expect(p.getByLabel('From (UTC)')).toHaveAttribute('aria-invalid', 'true');
  await expect(p.locator('.field-error')).toContainText('no completed scan');
  await p.goBack();

  // The address's timeline: the closed port's span ended at the second scan; the new one is open.
  await expect(closed).toHaveCount(1);
  await closed.getByRole('link', { name: 'timeline' }).click();
  await expect(p).toHaveURL(/\/timeline\?address=127\.0\.0\.1$/);
  const tl = p.getByRole('table', { name: 'Port history of 127.0.0.1' });
  const rowOf = (n: number) => tl.getByTestId('timeline-row').filter({ has: p.locator('td.num', { hasText: new RegExp(`^${n}$`) }) });
  await expect(rowOf(closingPort).locator('td').nth(4)).not.toContainText('open');
  await expect(rowOf(openingPort)).toContainText('open');

  // The scans table: both completed, filtered and sorted on the server, in the address.
  await p.goto('/scans');
  await expect(p.getByTestId('scan-row')).toHaveCount(2);
  await p.getByLabel('Status').selectOption('completed');
  await expect(p).toHaveURL(/status=completed/);
  await p.getByRole('button', { name: 'Launched' }).click();
  await expect(p).toHaveURL(/sort=created_at/);
  await expect(p.getByTestId('scan-row').first().getByRole('link', { name: 'loopback-all-ports' })).toHaveAttribute('href', `/scans/${ids.scans[0]}`);
  await p.reload();
  await expect(p.getByTestId('scan-row')).toHaveCount(2);
  await expect(p.getByTestId('scan-row').first()).toContainText('100%');
  await p.getByLabel('Status').selectOption('failed');
  await expect(p.getByText('No scans match these filters')).toBeVisible();
});

test('schedules: a cron schedule with a time zone, jitter and a blackout shows its next runs in that zone and its cron in words; a bad cron is refused on its field', async ({ browser }) => {
  const p = page;
  await p.goto('/schedules');
  await expect(p.getByText('No schedules yet')).toBeVisible();
  await p.getByRole('button', { name: 'New schedule' }).first().click();
  const d = p.getByRole('dialog', { name: 'New schedule' });
  await d.getByLabel('Name').fill('new-year-sweep');
  await d.getByLabel('Template', { exact: true }).selectOption({ label: 'loopback-all-ports' });
  await d.getByLabel('A cron expression').check();
  await d.getByLabel('Cron', { exact: true }).fill('61 3 1 1 *');
  await d.getByLabel('Time zone').fill('Europe/Berlin');
  await d.getByLabel('Jitter (seconds)').fill('600');
  await d.getByRole('button', { name: 'Add blackout window' }).click();
  await d.getByRole('button', { name: 'Create schedule' }).click();
  const cron = d.getByLabel('Cron', { exact: true });
  await expect(cron).toHaveAttribute('aria-invalid', 'true');
  await expect(cron).toBeFocused();
  await expect(d.locator('.field-error')).toContainText('cron');
  await expect(d.getByTestId('cron-preview')).toContainText('No words for this expression');
  // 03:00 on the 1st of January, Berlin time: far away, so it never fires during the test.
  await cron.fill('0 3 1 1 *');
  await expect(d.getByTestId('cron-preview')).toHaveText('Runs: At 03:00, on day 1 of the month, only in January, Europe/Berlin time.');
  await cron.press('Enter');
  await expect(d).toBeHidden();
  const row = p.getByTestId('schedule-row').filter({ hasText: 'new-year-sweep' });
  await expect(row).toContainText('0 3 1 1 *');
  await expect(row).toContainText('Europe/Berlin');
  await expect(row).toContainText('jitter up to 10 min');
  await expect(row).toContainText('no start mon tue wed thu fri 08:00–18:00');
  await expect(row).toContainText('enabled');
  // The cron in words, the expression itself still there.
  await expect(row.getByTestId('cron-words')).toHaveText('At 03:00, on day 1 of the month, only in January');
  // The next run is 1 January, 03:00 in Berlin (02:00 UTC) plus up to 10 minutes of jitter: shown
  // in the schedule's zone, named, though this browser is in UTC; the exact UTC time on hover.
  const next = row.getByTestId('next-run');
  await expect(next.locator('time')).toHaveText(/^\d{4}-01-01 03:(0\d|10):\d\d\sUTC\+1$/);
  await expect(next).toContainText('Europe/Berlin');
  await expect(next.locator('time')).toHaveAttribute('title', /^\d{4}-01-01 03:(0\d|10):\d\d Europe\/Berlin · \d{4}-01-01 02:(0\d|10):\d\d UTC$/);
  const upcoming = row.getByTestId('upcoming').locator('time');
  await expect(upcoming).toHaveCount(3);
  for (const u of await upcoming.all()) {
    await expect(u).toHaveText(/^\d{4}-01-01 03:00:00\sUTC\+1$/);
    await expect(u).toHaveAttribute('title', /· \d{4}-01-01 02:00:00 UTC$/);
  }

  // A browser in Berlin sees other times in its own zone, UTC on hover, and reads its inputs in it.
  const berlin = await browser.newContext({ baseURL: base, storageState: await ctx.storageState(), timezoneId: 'Europe/Berlin' });
  try {
    const bp = await berlin.newPage();
    const { scan } = await (await berlin.request.get(base + `/api/v1/scans/${ids.scans[0]}`)).json();
    const inBerlin = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    const utc = new Date(scan.created_at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    await bp.goto(`/scans/${ids.scans[0]}`);
    const launched = bp.locator('dt', { hasText: /^Launched$/ }).locator('xpath=following-sibling::dd[1]').locator('time');
    await expect(launched).toHaveText(inBerlin.format(new Date(scan.created_at)));
    await expect(launched).toHaveAttribute('title', utc);
    await expect(launched).toHaveAttribute('datetime', scan.created_at);
    expect(inBerlin.format(new Date(scan.created_at))).not.toBe(utc.slice(0, 19)); // Berlin is never UTC
    // The scans list's From is read in Berlin: 18:00 there is 17:00 UTC in November.
    await bp.goto('/scans');
    await bp.getByLabel('From (Europe/Berlin)').fill('2026-11-30T18:00');
    await bp.getByLabel('From (Europe/Berlin)').press('Enter');
    await expect(bp).toHaveURL(/from=2026-11-30T17%3A00%3A00Z/);
    await expect(bp.getByLabel('From (Europe/Berlin)')).toHaveValue('2026-11-30T18:00');
    // The schedule's runs stay in the schedule's zone, whatever the browser's.
    await bp.goto('/schedules');
    await expect(bp.getByTestId('schedule-row').filter({ hasText: 'new-year-sweep' }).getByTestId('upcoming').locator('time').first()).toHaveText(/^\d{4}-01-01 03:00:00\sUTC\+1$/);
  } finally {
    await berlin.close();
  }

  await row.getByRole('button', { name: 'Disable new-year-sweep' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Disable schedule' }).click();
  await expect(row).toContainText('disabled');
  await row.getByRole('button', { name: 'Edit new-year-sweep' }).click();
  const e = p.getByRole('dialog', { name: 'Edit new-year-sweep' });
  await expect(e.getByLabel('Cron', { exact: true })).toHaveValue('0 3 1 1 *');
  await e.getByLabel('A preset').check();
  await e.getByLabel('Preset', { exact: true }).selectOption('monthly');
  await e.getByRole('button', { name: 'Save changes' }).click();
  await expect(row).toContainText('monthly');

  await row.getByRole('button', { name: 'Delete new-year-sweep' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Delete schedule' }).click();
  await expect(p.getByTestId('schedule-row')).toHaveCount(0);
  await expect(p.locator('.toast.success').filter({ hasText: 'Deleted new-year-sweep' })).toBeVisible();
});

test('a vantage scan from two scanners: side by side, what each one reached', async () => {
  test.setTimeout(60_000);
  const p = page;
  const req = ctx.request;
  // A group of two vantage points: the scanner already running, and a second one joining it.
  const group = await apiPost(req, '/api/v1/scanner-groups', { name: 'loopback-views', location: 'lo', description: '', scanner_ids: [ids.scanner] });
  await startScanner(req, 'second-eye', [group.id]);
  const list = await apiPost(req, '/api/v1/port-lists', { name: 'two-ports', ports: `${closingPort},${openingPort}` });
  await apiPost(req, '/api/v1/templates', {
    name: 'loopback-vantage',
    subnets: [ids.subnet],
    port_lists: [list.id],
    scanners: { mode: 'vantage', scanner_group_ids: [group.id] },
    timing: { rate_limit: 0, timeout_ms: 500, retries: 0, max_duration_seconds: 300 },
  });

  await launch(p, 'loopback-vantage');
  await expect(p.getByTestId('scan-status')).toHaveText('completed', { timeout: 30_000 });
  await expect(p.getByTestId('job-row')).toHaveCount(2);
  const v = p.getByTestId('vantage');
  const table = v.getByRole('table', { name: 'Vantage comparison' });
  await expect(table.locator('thead th')).toHaveText(['Address', 'Port', 'Service', 'loopback-eye', 'second-eye']);
  // Both vantage points reach the open port, and the closed one is open nowhere.
  const row = v.getByTestId('vantage-row');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(String(openingPort));
  await expect(row.locator('td')).toHaveText(['127.0.0.1', String(openingPort), '—', '● open', '● open']);
  await expect(v).toContainText('0 reached by only some');
  await v.getByLabel('Only ports some scanners miss').check();
  await expect(v.getByTestId('vantage-row')).toHaveCount(0);
  await expect(v).toContainText('Every vantage point reaches the same ports.');
});

test('cancel a running scan with confirmation: its job stops and is marked partial', async () => {
  test.setTimeout(60_000);
  const p = page;
  await launch(p, 'loopback-all-ports');
  await expect(p.getByTestId('scan-status')).toHaveText('running');
  await expect(p.getByTestId('job-row')).toContainText(/leased|running/);

  // Escape keeps it running; the confirmation's Cancel scan stops it.
  await p.getByRole('button', { name: 'Cancel scan' }).click();
  const confirm = p.getByRole('dialog');
  await expect(confirm).toContainText('Cancel this scan of loopback-all-ports?');
  await p.keyboard.press('Escape');
  await expect(p.getByTestId('scan-status')).toHaveText('running');
  await p.getByRole('button', { name: 'Cancel scan' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Cancel scan' }).click();
  await expect(p.getByTestId('scan-status')).toHaveText('cancelled');
  await expect(p.getByRole('button', { name: 'Cancel scan' })).toHaveCount(0);
  // The scanner hears of it at its next progress report (every 10 s): the page keeps watching until then.
  const job = p.getByTestId('job-row');
  await expect(job).toContainText('cancelled', { timeout: 20_000 });
  await expect(job).toContainText('partial');
  await expect(p.getByRole('status').filter({ hasText: 'live' })).toHaveCount(0);
});
