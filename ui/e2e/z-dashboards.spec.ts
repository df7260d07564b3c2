// Widget dashboards in a real browser against a real mipo: copy a built-in layout; build a
// dashboard from widgets, resize one by its corner and move another by its heading (gridstack,
// real mouse drags), save, reload and see the layout kept — on the page and in the API.
//
// Runs after ui.spec.ts (the setup wizard); run alone, it makes the owner itself.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { ownerPage } from './owner';

test.describe.configure({ mode: 'serial' });

let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
  await p.goto('/');
  await nav().getByRole('link', { name: 'Dashboards' }).click();
  await expect(p).toHaveURL(/\/dashboards/);
  await expect(p.getByRole('heading', { name: 'Dashboards', level: 1 })).toBeVisible();
});

test.afterAll(async () => {
  await p.context().close();
});

const nav = () => p.getByRole('navigation', { name: 'Main' });
const picker = () => p.getByRole('combobox', { name: /^Dashboard/ });
const grid = () => p.getByTestId('dashboard-grid');
const item = (kind: string) => grid().locator('[data-uid]').filter({ has: p.locator(`[data-widget="${kind}"]`) });

interface Placed {
  kind: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where gridstack shows each widget now, read from the page, by kind (gridstack may reorder the elements). */
const byKind = (l: Placed[]) => [...l].sort((a, b) => a.kind.localeCompare(b.kind));
async function placed(): Promise<Placed[]> {
  const l = await grid()
    .locator('[data-uid]')
    .evaluateAll((els) =>
      els.map((el) => ({
        kind: el.querySelector('[data-widget]')!.getAttribute('data-widget')!,
        x: Number(el.getAttribute('gs-x') ?? 0),
        y: Number(el.getAttribute('gs-y') ?? 0),
        w: Number(el.getAttribute('gs-w') ?? 1),
        h: Number(el.getAttribute('gs-h') ?? 1),
      })),
    );
  return byKind(l);
}

async function box(l: Locator) {
  const b = await l.boundingBox();
  expect(b).not.toBeNull();
  return b!;
}

/** A real drag with the mouse, in steps, so gridstack sees it move. */
async function drag(from: { x: number; y: number }, by: { x: number; y: number }) {
  await p.mouse.move(from.x, from.y);
  await p.mouse.down();
  for (let i = 1; i <= 10; i++) await p.mouse.move(from.x + (by.x * i) / 10, from.y + (by.y * i) / 10);
  await p.mouse.up();
}

test('copy a built-in layout and see it become one of mine', async () => {
  await picker().selectOption({ label: 'Security analyst' });
  await expect(p.getByTestId('dashboard-note')).toContainText('built-in layout');
  await expect(grid().locator('[data-widget]')).toHaveCount(3);
  await p.getByRole('button', { name: 'Copy this layout' }).click();
  await expect(p.getByText('Copied Security analyst. It is yours to change.')).toBeVisible();
  await expect(picker().locator('option:checked')).toHaveText('Security analyst (copy)');
  await expect(p.getByRole('button', { name: 'Edit layout' })).toBeVisible();
  // The copy has the built-in's widgets, its saved results query among them.
  await expect(grid().locator('[data-widget]')).toHaveCount(3);
  await expect(grid().getByRole('heading', { name: 'Remote access ports seen open' })).toBeVisible();
  const list = await (await p.request.get('/api/v1/dashboards')).json();
  const copy = list.items.find((d: { name: string }) => d.name === 'Security analyst (copy)');
  expect(copy.builtin).toBe(false);
  expect(copy.widgets.map((w: Placed) => w.kind)).toEqual(['recent-changes', 'open-alarms', 'results-query']);
});

test('build a dashboard from widgets, resize and move one, reload and see it kept', async () => {
  await p.getByRole('button', { name: 'New dashboard' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByLabel('Name').fill('E2E wall');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(p.getByText('Created E2E wall.')).toBeVisible();
  await expect(p.getByText('No widgets yet')).toBeVisible();

  await p.getByRole('button', { name: 'Edit layout' }).click();
  for (const label of ['Open alarms', 'Component status', 'Scan activity']) {
    await p.getByRole('combobox', { name: /^Widget/ }).selectOption({ label });
    await p.getByRole('button', { name: 'Add widget' }).click();
  }
  await expect(grid().locator('[data-widget]')).toHaveCount(3);
  // Each widget shows its data (the owner holds every scope): the component list, the alarm count.
  await expect(item('open-alarms').getByTestId('open-alarms-count')).toContainText('open');
  await expect(item('component-status')).toContainText('components healthy');
  await p.getByRole('button', { name: 'Save layout' }).click();
  await expect(p.getByText('Layout saved.')).toBeVisible();
  expect(await placed()).toEqual(
    byKind([
      { kind: 'open-alarms', x: 0, y: 0, w: 6, h: 4 },
      { kind: 'component-status', x: 0, y: 4, w: 6, h: 4 },
      { kind: 'scan-activity', x: 0, y: 8, w: 6, h: 4 },
    ]),
  );

  // Tall enough that the whole grid, and the rows a widget is dragged up to, are on screen.
  await p.setViewportSize({ width: 1280, height: 1200 });
  await p.getByRole('button', { name: 'Edit layout' }).click();
  const gridBox = await box(grid());
  const col = gridBox.width / 12;
  // Move the scan activity up beside the open alarms, by its heading.
  const head = await box(item('scan-activity').locator('.widget-head h2'));
  await drag({ x: head.x + 20, y: head.y + head.height / 2 }, { x: 6 * col, y: gridBox.y + 24 - (head.y + head.height / 2) });
  // Resize the component status from its bottom-right corner: two columns wider, a row taller.
  const target = item('component-status');
  await target.hover();
  const corner = await box(target.locator('.ui-resizable-se'));
  await drag({ x: corner.x + corner.width / 2, y: corner.y + corner.height / 2 }, { x: 2 * col, y: 64 });

  // gridstack settles a drop after the mouse is up: wait for the move to show before reading.
  await expect.poll(async () => (await placed()).find((w) => w.kind === 'scan-activity')!.x).toBeGreaterThan(0);
  const before = await placed();
  const moved = before.find((w) => w.kind === 'scan-activity')!;
  const resized = before.find((w) => w.kind === 'component-status')!;
  // gridstack snaps to whole cells and pushes what it would overlap: the widgets moved and grew,
  // wherever exactly they snapped.
  expect(moved.x, 'moved right').toBeGreaterThan(0);
  expect(moved.y, 'moved up').toBeLessThan(8);
  expect(resized.w, 'wider').toBeGreaterThan(6);
  expect(resized.h, 'taller').toBeGreaterThan(4);
  // Wait for the save itself: the first save's toast may still be showing.
  const put = p.waitForResponse((r) => r.request().method() === 'PUT' && /\/api\/v1\/dashboards\//.test(r.url()));
  await p.getByRole('button', { name: 'Save layout' }).click();
  expect((await put).status()).toBe(200);

  await p.reload();
  await expect(picker().locator('option:checked')).toHaveText('E2E wall');
  await expect(grid().locator('[data-widget]')).toHaveCount(3);
  expect(await placed()).toEqual(before);
  const list = await (await p.request.get('/api/v1/dashboards')).json();
  const wall = list.items.find((d: { name: string }) => d.name === 'E2E wall');
  expect(byKind(wall.widgets.map(({ kind, x, y, w, h }: Placed) => ({ kind, x, y, w, h })))).toEqual(before);
  // The change is in the audit log.
  const audit = await (await p.request.get(`/api/v1/audit?resource_type=dashboard&resource_id=${wall.id}`)).json();
  expect(audit.items.map((r: { action: string }) => r.action)).toEqual(['dashboard.update', 'dashboard.update', 'dashboard.create']);
});
