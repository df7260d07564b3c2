// The architecture overview in a real browser against a real mipo: open it from the
// navigation, see the databases turn green once the probes have run, click through to the
// config database's page and see its figures drawn as charts (uPlot canvases).
//
// Runs after ui.spec.ts (the setup wizard); run alone, it makes the owner itself.
import { expect, test, type Page } from '@playwright/test';
import { ownerPage } from './owner';

test.describe.configure({ mode: 'serial' });

let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
  await p.goto('/');
});

test.afterAll(async () => {
  await p.context().close();
});

test('open the architecture overview and click through to a component with its charts', async () => {
  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Architecture', exact: true }).click();
  await expect(p).toHaveURL(/\/health$/);
  const topology = p.getByTestId('topology');
  for (const id of ['edge', 'manager', 'dispatcher', 'backup', 'database:config', 'database:results', 'database:jobs', 'tls']) {
    await expect(topology.getByTestId(`node-${id}`)).toBeVisible();
  }
  // The probes run every 15 seconds; the page polls and turns the node green.
  const config = topology.getByTestId('node-database:config');
  await expect(config).toHaveAttribute('data-status', 'ok', { timeout: 45_000 });
  await expect(config).toContainText('checked');

  await config.click();
  await expect(p).toHaveURL(/\/health\/components\/database(%3A|:)config$/);
  await expect(p.getByTestId('component-title')).toContainText('Database config');
  await expect(p.getByTestId('component-status')).toHaveText('ok');
  const chart = p.getByTestId('chart-latency_ms');
  await expect(chart).toBeVisible({ timeout: 30_000 });
  await expect(chart.locator('canvas')).toHaveCount(1);
  await expect(p.getByTestId('component-detail')).toContainText('size_mb');

  await p.getByRole('link', { name: 'Back to the architecture' }).click();
  await expect(p).toHaveURL(/\/health$/);
});
