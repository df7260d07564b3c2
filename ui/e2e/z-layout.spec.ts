// Layouts at laptop widths, in a real browser against a real mipo: every list page of the
// navigation (read from the route table) fits 1280×800 and 1024×768 without scrolling
// sideways, neither the document nor the main content; and one navigation entry is lit on
// each page, including the nested /scanners/health and /scanners/firewall.
//
// Runs after the other stories against the same server, so the lists hold their rows (the
// widest tables); run alone it checks the empty pages.
import { expect, test, type Page } from '@playwright/test';
import { routes } from '../src/routes';
import { ownerPage } from './owner';

const listPages = routes.filter((r) => r.nav).map((r) => r.path);
const sizes = [
  { width: 1280, height: 800 },
  { width: 1024, height: 768 },
];

let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
  // Rows with long names and ids on the pages the width complaints were about (schedules,
  // templates, subnets), so the tables are not empty when this file runs alone.
  const me = await (await p.request.get('/api/v1/auth/me')).json();
  const h: Record<string, string> = me.csrf_token ? { 'X-CSRF-Token': me.csrf_token } : {};
  const post = async (path: string, data: unknown) => {
    const r = await p.request.post(path, { headers: h, data });
    expect(r.status(), `${path}: ${await r.text()}`).toBeLessThan(300);
    return r.json();
  };
  const tag = `${Date.now()}`;
  await post('/api/v1/subnets', { name: `layout-a-rather-long-v6-subnet-name-${tag}`, cidr: '2001:db8:1234:5678::/64' });
  const subnet = await post('/api/v1/subnets', { name: `layout-a-rather-long-subnet-name-${tag}`, cidr: '127.0.3.0/30' });
  const list = await post('/api/v1/port-lists', { name: `layout-ports-${tag}`, ports: '22,80,443,5432,8080-8090' });
  const tpl = await post('/api/v1/templates', { name: `layout-template-with-a-long-name-${tag}`, subnets: [subnet.id], port_lists: [list.id] });
  await post('/api/v1/schedules', { name: `layout-schedule-with-a-long-name-${tag}`, template_id: tpl.id, timing: { cron: '30 2 * * 1-5', timezone: 'Europe/Berlin', jitter_seconds: 60, blackouts: [] }, enabled: false });
});

test.afterAll(async () => {
  await p.context().close();
});

/** Opens a page and waits until the shell shows it and nothing is loading any more. */
async function open(path: string) {
  await p.goto(path);
  await expect(p.locator('[data-shell-ready]')).toBeAttached();
  await expect(p.locator('main h1').first()).toBeVisible();
  await expect(p.locator('main .spinner')).toHaveCount(0);
}

/** How far the document, <main> and the widest table box reach past their width, in CSS pixels
 * (0 when they fit): a table that scrolls inside its box hides its last column (row actions). */
async function overflow() {
  return p.evaluate(() => {
    const d = document.documentElement;
    const m = document.querySelector('main')!;
    const tables = [...m.querySelectorAll('.table-wrap')].map((t) => t.scrollWidth - t.clientWidth);
    return { document: d.scrollWidth - d.clientWidth, main: m.scrollWidth - m.clientWidth, table: Math.max(0, ...tables) };
  });
}

for (const size of sizes) {
  test(`no list page scrolls sideways at ${size.width}×${size.height}`, async () => {
    test.setTimeout(30_000 + listPages.length * 6_000);
    await p.setViewportSize(size);
    const wide: string[] = [];
    for (const path of listPages) {
      await open(path);
      const o = await overflow();
      if (o.document > 0 || o.main > 0 || o.table > 0) wide.push(`${path}: document +${o.document}px, main +${o.main}px, table +${o.table}px`);
    }
    expect(wide, `pages wider than ${size.width} px`).toEqual([]);
    // At 1024 px the sidebar is a rail: its Menu button opens the navigation, and following a
    // link closes it again.
    const nav = p.getByRole('navigation', { name: 'Main' });
    const menu = p.getByRole('button', { name: 'Menu' });
    if (size.width < 1100) {
      await expect(nav).toBeHidden();
      await menu.click();
      await nav.getByRole('link', { name: 'Schedules' }).click();
      await expect(p).toHaveURL(/\/schedules$/);
      await expect(nav).toBeHidden();
    } else {
      await expect(nav).toBeVisible();
      await expect(menu).toBeHidden();
    }
  });
}

test('one navigation entry is lit on every list page', async () => {
  test.setTimeout(30_000 + listPages.length * 4_000);
  await p.setViewportSize(sizes[0]);
  for (const path of [...listPages, '/scanners/health', '/scanners/firewall']) {
    await open(path);
    const lit = p.getByRole('navigation', { name: 'Main' }).locator('a[aria-current="page"]');
    await expect(lit, path).toHaveCount(1);
    await expect(lit, path).toHaveAttribute('href', path);
  }
});
