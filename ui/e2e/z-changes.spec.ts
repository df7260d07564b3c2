// Changes over time and the live pages, in a real browser against a real mipo: the changes
// page's CSV export holds the rows the API answers; the scanners list shows a scanner that
// registers while it is open, without a reload; a template whose scope is too large to launch
// is flagged while it is edited; and the first load of each page stays under 100 KB of
// JavaScript on the wire (gzip), read from the network log.
//
// Runs after scans.spec.ts against the same server, so the week holds that story's scans and
// their changes; run alone it still compares the export with the API.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { ownerPage } from './owner';

test.describe.configure({ mode: 'serial' });

let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
});

test.afterAll(async () => {
  await p.context().close();
});

/** A CSV body as rows of cells (quotes and doubled quotes, as Go's encoding/csv writes them). */
function parseCSV(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else if (c !== '\r') cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

test("the changes page exports the week's changes as CSV that matches the API", async () => {
  await p.goto('/changes');
  await expect(p.getByTestId('changes-window')).toBeVisible();
  await expect(p.getByTestId('day-bar')).toHaveCount(8); // seven days back from now touch eight dates
  const api = await (await p.request.get('/api/v1/results/changes')).json();
  await expect(p.getByTestId('change-row')).toHaveCount(api.items.length);

  const download = p.waitForEvent('download');
  await p.getByTestId('export-csv').click();
  const file = await download;
  const text = await (await file.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  const rows = parseCSV(text);
  expect(rows[0]).toEqual(['at', 'kind', 'template_id', 'template_name', 'scan_id', 'previous_scan_id', 'scanner_id', 'address', 'port', 'service']);
  expect(rows.length - 1).toBe(api.items.length);
  api.items.forEach((e: Record<string, string | number>, i: number) => {
    const r = rows[i + 1];
    expect(new Date(r[0]).getTime()).toBe(new Date(e.at as string).getTime());
    expect(r.slice(1)).toEqual([e.kind, e.template_id, e.template_name, e.scan_id, e.previous_scan_id, e.scanner_id ?? '', e.address, String(e.port), e.service]);
  });
});

test('the scanners list shows a newly registered scanner within 5 s, without a reload', async () => {
  await p.goto('/scanners');
  await expect(p.getByRole('heading', { level: 1 })).toContainText('Scanners');
  const name = `live-${Date.now()}`;
  const tok = await (await p.request.post('/api/v1/scanners/tokens', { headers: await csrf(), data: { name, binding: '127.0.0.0/8', expires_in_minutes: 60 } })).json();
  const reg = await p.request.post('/scanner/v1/register', { data: { token: tok.secret, hostname: 'live-host', version: 'e2e', capacity: { max_concurrency: 10 } } });
  expect(reg.status()).toBe(200);
  const key = (await reg.json()).api_key;
  const hb = await p.request.post('/scanner/v1/heartbeat', {
    headers: { Authorization: `Bearer ${key}` },
    data: { version: 'e2e', hostname: 'live-host', capacity: { max_concurrency: 10, max_rate: 100, fd_limit: 1024 }, metrics: {}, active_jobs: [] },
  });
  expect(hb.status()).toBe(200);
  // The pending tokens table below lists the token under the same name until it refreshes.
  await expect(p.getByRole('table', { name: 'Scanners', exact: true }).getByRole('row').filter({ hasText: name })).toContainText('online', { timeout: 5000 });
});

test('a template whose scope is too large is flagged while it is edited', async () => {
  const h = await csrf();
  const subnet = await (await p.request.post('/api/v1/subnets', { headers: h, data: { name: `huge-${Date.now()}`, cidr: '2001:db8::/32' } })).json();
  await p.goto('/templates');
  await p.getByRole('button', { name: /New template/ }).click();
  await p.getByLabel('Name').first().fill(`too-large-${Date.now()}`);
  await p.getByRole('group', { name: 'Subnets' }).getByText(subnet.name).click();
  await p.getByRole('group', { name: 'Port lists' }).locator('label').first().click();
  await expect(p.getByTestId('scope-check')).toContainText('Too large to launch', { timeout: 5000 });
  await expect(p.getByTestId('scope-check')).toContainText('MIPO_SCAN_MAX_PROBES');
  await expect(p.getByTestId('scope-warning')).toContainText('no scanners');
});

test('the first load of any page stays under 100 KB of JavaScript (gzip on the wire)', async ({ browser }) => {
  // Every page the route table serves at a fixed path, read from its source so a new page is
  // measured the day it lands (pages with an id in the path load the same chunks as their list).
  const table = readFileSync(new URL('../src/routes.ts', import.meta.url), 'utf8');
  const paths = [...new Set([...table.matchAll(/path: '([^':*]*)'/g)].map((m) => m[1]))];
  expect(paths.length, 'pages read from routes.ts').toBeGreaterThan(30);
  test.setTimeout(30_000 + paths.length * 5_000);
  const storageState = await p.context().storageState();
  for (const path of paths) {
    const ctx = await browser.newContext({ storageState });
    const page = await ctx.newPage();
    const js: Promise<number>[] = [];
    let lastScript = Date.now();
    page.on('request', (r) => {
      if (r.resourceType() === 'script') lastScript = Date.now();
    });
    page.on('requestfinished', (r) => {
      if (r.resourceType() === 'script') js.push(r.sizes().then((s) => s.responseBodySize));
    });
    await page.goto(path);
    // Pages that poll never fall network-idle: wait instead until no
    // script has been asked for in a second.
    await expect.poll(() => Date.now() - lastScript, { timeout: 15_000 }).toBeGreaterThan(1000);
    const total = (await Promise.all(js)).reduce((a, b) => a + b, 0);
    console.log(`first load of ${path}: ${total} bytes of JavaScript on the wire`);
    expect(total, `${path}: ${total} bytes of JavaScript`).toBeGreaterThan(10_000);
    expect(total, `${path}: ${total} bytes of JavaScript`).toBeLessThan(100 * 1024);
    await ctx.close();
  }
});

async function csrf(): Promise<Record<string, string>> {
  const me = await (await p.request.get('/api/v1/auth/me')).json();
  return me.csrf_token ? { 'X-CSRF-Token': me.csrf_token } : {};
}
