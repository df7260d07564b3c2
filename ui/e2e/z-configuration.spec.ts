// Scan configuration in a real browser against a real mipo: subnets (a validation error shown at
// its field, then fixed), a subnet group, a port list built from the catalog, a template from
// them, and the template's version history with its diff.
//
// Test files run in name order against one server; this one runs after ui.spec.ts, whose first
// test is the setup wizard, and signs in as the owner that story made. Run alone, it makes the
// owner itself.
import { expect, test, type Page } from '@playwright/test';
import { ownerPage } from './owner';


test.describe.configure({ mode: 'serial' });

let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
  await p.goto('/subnets');
  await expect(p.getByRole('navigation', { name: 'Main' })).toContainText('Configuration');
});

test.afterAll(async () => {
  await p.context().close();
});

const nav = () => p.getByRole('navigation', { name: 'Main' });
const dialog = () => p.getByRole('dialog');

test('subnets: a CIDR with host bits set is refused at its field, with the fix one press away', async () => {
  await nav().getByRole('link', { name: 'Subnets', exact: true }).click();
  await expect(p).toHaveURL(/\/subnets$/);
  await p.getByRole('button', { name: 'New subnet' }).click();
  await dialog().getByLabel('Name').fill('core');
  const cidr = dialog().getByLabel('CIDR');
  await cidr.fill('10.0.0.1/24');
  await dialog().getByRole('button', { name: 'Create subnet' }).click();

  const field = dialog().locator('.field').filter({ has: p.getByLabel('CIDR') });
  await expect(field.locator('.field-error')).toContainText('10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?');
  await expect(cidr).toHaveAttribute('aria-invalid', 'true');
  await dialog().getByRole('button', { name: 'Use 10.0.0.0/24' }).click();
  await expect(cidr).toHaveValue('10.0.0.0/24');
  await expect(field.locator('.field-error')).toHaveCount(0);
  await expect(field.locator('.hint')).toContainText('256 addresses, 10.0.0.0 – 10.0.0.255');
  await dialog().getByRole('button', { name: 'Create subnet' }).click();
  await expect(dialog()).toBeHidden();
  await expect(p.getByTestId('subnet-row').filter({ hasText: 'core' }).getByTestId('host-count')).toHaveText('256');

  // IPv6 counts are exact, however large.
  await p.getByRole('button', { name: 'New subnet' }).click();
  await dialog().getByLabel('Name').fill('lab-v6');
  await dialog().getByLabel('CIDR').fill('2001:db8:1::/64');
  await dialog().getByLabel('Tags').fill('lab, v6');
  await dialog().getByLabel('Tags').press('Enter');
  await expect(p.getByTestId('subnet-row').filter({ hasText: 'lab-v6' }).getByTestId('host-count')).toHaveText('2^64');
});

test('a subnet group of both subnets', async () => {
  await nav().getByRole('link', { name: 'Subnet groups' }).click();
  await p.getByRole('button', { name: 'New group' }).click();
  await dialog().getByLabel('Name').fill('offices');
  const subnets = dialog().getByRole('group', { name: /^Subnets/ });
  await subnets.getByRole('checkbox', { name: /^core/ }).check();
  await subnets.getByRole('checkbox', { name: /^lab-v6/ }).check();
  await dialog().getByRole('button', { name: 'Create group' }).click();
  const row = p.getByTestId('subnet-group-row').filter({ hasText: 'offices' });
  await expect(row).toContainText('core');
  await expect(row).toContainText('lab-v6');
  await expect(row).toContainText('2^64 + 256');
});

test('a port list built from the catalog, each port labelled with its service', async () => {
  await nav().getByRole('link', { name: 'Port lists' }).click();
  await expect(p.getByTestId('port-list-row').filter({ hasText: 'The 100 TCP ports' })).toContainText('built-in');
  await p.getByRole('button', { name: 'New port list' }).click();
  await dialog().getByLabel('Name').fill('admin-ports');
  const search = dialog().getByLabel('Add from the catalog');
  await search.fill('ssh');
  await dialog().getByRole('button', { name: 'Add 22 ssh' }).click();
  await search.fill('443');
  await dialog().getByRole('button', { name: 'Add 443 https' }).click();
  await expect(dialog().getByLabel('Ports', { exact: true })).toHaveValue('22,443');
  const labels = dialog().getByTestId('port-labels');
  await expect(labels).toContainText('ssh');
  await expect(labels).toContainText('https');
  await expect(dialog().locator('.field').filter({ has: p.getByLabel('Ports', { exact: true }) }).locator('.hint')).toHaveText('2 ports');
  await dialog().getByRole('button', { name: 'Create port list' }).click();
  await expect(p.getByTestId('port-list-row').filter({ hasText: 'admin-ports' })).toContainText('22, 443');
});

test('a template from them, changed once, with its version history and diff', async () => {
  await nav().getByRole('link', { name: 'Scan templates' }).click();
  await p.getByRole('button', { name: 'New template' }).click();
  await dialog().getByLabel('Name').fill('weekly');
  await dialog().getByRole('group', { name: /^Subnet groups/ }).getByRole('checkbox', { name: /^offices/ }).check();
  await dialog().getByRole('group', { name: /^Port lists/ }).getByRole('checkbox', { name: /^admin-ports/ }).check();
  await dialog().getByRole('button', { name: 'Create template' }).click();
  // offices holds a /64: past the launch limit, so the save is refused on the subnets, saying why.
  await expect(dialog().getByRole('group', { name: /^Subnets/ })).toContainText('more than the launch limit');
  await dialog().getByRole('group', { name: /^Subnet groups/ }).getByRole('checkbox', { name: /^offices/ }).uncheck();
  await dialog().getByRole('group', { name: /^Subnets/ }).getByRole('checkbox', { name: /^core/ }).check();
  await dialog().getByRole('button', { name: 'Create template' }).click();
  const row = p.getByTestId('template-row').filter({ hasText: 'weekly' });
  await expect(row).toContainText('core');
  await expect(row).toContainText('admin-ports');

  await row.getByRole('button', { name: 'Edit weekly' }).click();
  await dialog().getByLabel('Retries').fill('3');
  await dialog().getByRole('button', { name: 'Save changes' }).click();
  await expect(p.locator('.toast.success').filter({ hasText: 'Saved template weekly' })).toContainText('version 2');

  await row.getByRole('button', { name: 'History of weekly' }).click();
  await expect(dialog().getByTestId('version-row')).toHaveCount(2);
  const diff = dialog().getByTestId('version-diff');
  await expect(diff).toContainText('timing.retries');
  await expect(diff.locator('td.old')).toHaveText('1');
  await expect(diff.locator('td.new')).toHaveText('3');
  // The creation, compared with nothing: the group and list are named, not shown as ids.
  await dialog().getByTestId('version-row').filter({ hasText: 'create' }).getByRole('button', { name: 'Changes' }).click();
  await expect(diff).toContainText('core');
  await expect(diff).toContainText('admin-ports');
  await p.keyboard.press('Escape');

  await row.getByRole('button', { name: 'Scope of weekly' }).click();
  const scope = dialog().getByTestId('scope-summary');
  await expect(scope).toContainText('256 in 1 interval');
  await expect(scope).toContainText('2: 22,443');
});
