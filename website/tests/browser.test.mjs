// The built site in Debian's Chromium (never a downloaded browser), served by a plain static file
// server: home -> a feature's documentation -> the API reference, with no console errors, no
// failed requests, labelled images, headings in order, and a light home page.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { extname } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { fileFor } from './dist.mjs';

const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml', '.json': 'application/json', '.txt': 'text/plain' };
const HOME_BUDGET = 100 * 1024;

/** A static file server like any web host's: files as they are, 404.html for what is not there. */
function serve() {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = fileFor(path) ?? fileFor('/404.html');
    res.writeHead(fileFor(path) ? 200 : 404, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server, browser, page, base;
const problems = [];

before(async () => {
  server = await serve();
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.MIPO_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error on ${page.url()}: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`script error on ${page.url()}: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} for ${r.url()}`));
  // Nothing may leave the site: no remote fonts, images or scripts.
  await page.route((url) => !url.href.startsWith(base), (route) => {
    problems.push(`request outside the site: ${route.request().url()}`);
    return route.abort();
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** What a Lighthouse-style pass would flag on the current page. */
async function audit() {
  return page.evaluate(() => {
    const found = [];
    for (const img of document.querySelectorAll('img')) if (!img.alt?.trim()) found.push(`image without alt text: ${img.src}`);
    for (const svg of document.querySelectorAll('svg[role="img"]')) {
      const label = svg.getAttribute('aria-label') || (svg.getAttribute('aria-labelledby') ?? '').split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join('');
      if (!label.trim()) found.push('svg image without a label');
    }
    const hs = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1]));
    if (hs.filter((l) => l === 1).length !== 1) found.push(`${hs.filter((l) => l === 1).length} h1 headings`);
    hs.forEach((l, i) => i > 0 && l > hs[i - 1] + 1 && found.push(`h${l} after h${hs[i - 1]}`));
    if (!document.documentElement.lang) found.push('no lang on <html>');
    return found.map((f) => `${location.pathname}: ${f}`);
  });
}

test('home page: under 100 KB transferred, accessible, no errors', async (t) => {
  const sizes = [];
  page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
  await page.goto(base + '/', { waitUntil: 'load' });
  const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  page.removeAllListeners('requestfinished');
  t.diagnostic(`home page: ${bytes} bytes transferred`);
  assert.ok(bytes > 0);
  assert.ok(bytes < HOME_BUDGET, `the home page transferred ${bytes} bytes, over ${HOME_BUDGET}`);
  assert.equal(await page.locator('h1').textContent().then((t) => t.trim()), 'Know what is running on your network');
  assert.deepEqual([...(await audit()), ...problems], []);
});

test('home -> a feature\'s documentation -> the API reference', async () => {
  const feature = page.locator('.features a', { hasText: 'Documentation' }).first();
  const name = (await feature.getAttribute('aria-label')).replace(/: documentation$/, '');
  await feature.click();
  await page.waitForURL(/\/docs\/.+/);
  assert.ok((await page.locator('h1').textContent()).trim().length > 0, `no title on the docs of ${name}`);
  assert.deepEqual(await audit(), []);

  // The page's API section links each call to its entry in the reference.
  const call = page.locator('#api ~ ul a').first();
  const line = (await call.textContent()).trim();
  await call.click();
  await page.waitForURL(/\/docs\/api\/[^/]+\/#/);
  const anchor = decodeURIComponent(new URL(page.url()).hash.slice(1));
  const heading = page.locator(`h2[id="${anchor}"]`);
  assert.equal((await heading.textContent()).replace(/\s+/g, ' ').trim(), line.replace(/\s+/g, ' '));
  assert.deepEqual(await audit(), []);

  // And from there, the overview of every route.
  await page.getByRole('link', { name: 'API overview' }).first().click();
  await page.waitForURL(/\/docs\/api\/$/);
  assert.equal((await page.locator('h1').textContent()).trim(), 'API reference');
  assert.ok((await page.locator('table.route-list tbody tr').count()) > 0);
  assert.deepEqual([...(await audit()), ...problems], []);
});

test('the architecture page draws the topology inline, with a label', async () => {
  await page.goto(base + '/architecture/');
  await assert.doesNotReject(page.locator('svg.topology title').waitFor({ state: 'attached' }));
  assert.deepEqual([...(await audit()), ...problems], []);
});

