// Discovery in a real browser against a real mipo: a CSV source is added, dry-run (nothing
// changes), applied, and its subnets appear in the scope of a template that uses its group.
// Runs after ui.spec.ts (the setup story); run alone, it makes the owner itself.
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

test('a CSV source: dry run shows the diff, apply fills its group, a template scans the group', async () => {
  await p.goto('/discovery');
  await p.getByRole('button', { name: 'New source' }).click();
  const form = p.getByRole('form', { name: 'New source' });
  await form.getByLabel('Name').fill('cmdb-e2e');
  await form.getByLabel('Kind').selectOption('cmdb');
  await form.getByLabel('CIDR column').fill('Network');
  await form.getByRole('button', { name: 'Create source' }).click();
  await expect(p.getByRole('region', { name: 'Source cmdb-e2e' })).toBeVisible();

  await p.getByLabel('Export').fill('Network,name\n127.0.7.0/24,lab\n127.0.8.0/25,office\n');
  await p.getByRole('button', { name: 'Dry run' }).click();
  const diff = p.getByLabel('Diff');
  await expect(diff).toContainText('Run: dry_run');
  await expect(diff).toContainText('+ 127.0.7.0/24 lab');
  await expect(p.getByRole('table', { name: 'Discovered subnets' })).toContainText('Nothing discovered yet.');

  await p.getByRole('button', { name: 'Apply' }).click();
  await expect(diff).toContainText('Run: applied');
  await expect(p.getByRole('table', { name: 'Discovered subnets' })).toContainText('127.0.8.0/25');

  // A template that uses the source's group shows the discovered subnets in its scope.
  const csrf = { 'X-CSRF-Token': (await (await p.request.get('/api/v1/auth/me')).json()).csrf_token };
  const groups = await (await p.request.get('/api/v1/subnet-groups?q=cmdb-e2e')).json();
  const list = await (await p.request.post('/api/v1/port-lists', { headers: csrf, data: { name: 'discovery-e2e', ports: '22' } })).json();
  expect((await p.request.post('/api/v1/templates', { headers: csrf, data: { name: 'discovered-e2e', subnet_groups: [groups.items[0].id], port_lists: [list.id] } })).status()).toBe(201);
  await p.goto('/templates');
  await p.getByRole('button', { name: 'Scope of discovered-e2e' }).click();
  const dialog = p.getByRole('dialog');
  await expect(dialog).toContainText('127.0.7.0-127.0.8.127'); // the two subnets, merged
  await expect(dialog.getByTestId('scope-summary')).toContainText('384 in');
});
