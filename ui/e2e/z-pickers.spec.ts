// Pickers and names: a filter on an object's id is picked by name from a searchable list (the URL
// keeps the id, so the view survives a reload), and the audit log names each record's resource.
//
// Runs against the shared server after ui.spec.ts (or makes the owner itself when run alone).
import { expect, test, type Page } from '@playwright/test';
import { ownerPage } from './owner';

test.describe.configure({ mode: 'serial' });

let p: Page;
const stamp = Date.now().toString(36);
const names = { north: `pick-north-${stamp}`, south: `pick-south-${stamp}`, tn: `tmpl-north-${stamp}`, ts: `tmpl-south-${stamp}` };
const ids: Record<string, string> = {};

async function csrf(): Promise<Record<string, string>> {
  const me = await (await p.request.get('/api/v1/auth/me')).json();
  return me.csrf_token ? { 'X-CSRF-Token': me.csrf_token } : {};
}

async function post(path: string, data: unknown) {
  const r = await p.request.post(path, { headers: await csrf(), data });
  expect(r.status(), `${path}: ${await r.text()}`).toBeLessThan(300);
  return r.json();
}

async function scanner(name: string) {
  const tok = await post('/api/v1/scanners/tokens', { name, binding: '127.0.0.0/8', expires_in_minutes: 60 });
  const reg = await p.request.post('/scanner/v1/register', { data: { token: tok.secret, hostname: name + '-host', version: 'e2e', capacity: { max_concurrency: 10 } } });
  expect(reg.status()).toBe(200);
}

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
  await scanner(names.north);
  await scanner(names.south);
  const list = await (await p.request.get('/api/v1/scanners?limit=500')).json();
  for (const s of list.items) if (s.name === names.north || s.name === names.south) ids[s.name] = s.id;
  expect(Object.keys(ids)).toHaveLength(2);
  const subnet = await post('/api/v1/subnets', { name: `pick-lo-${stamp}`, cidr: '127.0.0.1/32' });
  const ports = await post('/api/v1/port-lists', { name: `pick-ports-${stamp}`, ports: '22' });
  for (const [tmpl, sc] of [[names.tn, names.north], [names.ts, names.south]]) {
    ids[tmpl] = (await post('/api/v1/templates', { name: tmpl, subnets: [subnet.id], port_lists: [ports.id], scanners: { mode: 'pool', scanner_ids: [ids[sc]] } })).id;
  }
});

test.afterAll(async () => {
  await p.context().close();
});

test('templates are filtered by a scanner picked by name, and the choice survives a reload', async () => {
  await p.goto('/templates');
  const rows = p.getByRole('row');
  await expect(rows.filter({ hasText: names.tn })).toHaveCount(1);
  await expect(rows.filter({ hasText: names.ts })).toHaveCount(1);

  const picker = p.getByRole('combobox', { name: 'Scanner or group' });
  await picker.click();
  await picker.fill(`north-${stamp}`); // searched on the server: the other scanner is not offered
  const list = p.getByRole('listbox', { name: 'Scanner or group' });
  await expect(list.getByRole('option', { name: names.north })).toBeVisible();
  await expect(list.getByRole('option', { name: names.south })).toHaveCount(0);
  await list.getByRole('option', { name: names.north }).click();

  await expect(p).toHaveURL(new RegExp(`[?&]scanner=${ids[names.north]}`));
  await expect(picker).toHaveValue(names.north);
  await expect(rows.filter({ hasText: names.tn })).toHaveCount(1);
  await expect(rows.filter({ hasText: names.ts })).toHaveCount(0);

  await p.reload();
  await expect(picker).toHaveValue(names.north); // the URL's id, named again
  await expect(rows.filter({ hasText: names.tn })).toHaveCount(1);
  await expect(rows.filter({ hasText: names.ts })).toHaveCount(0);

  // "any" clears the filter.
  await picker.click();
  await p.getByRole('listbox', { name: 'Scanner or group' }).getByRole('option', { name: 'any' }).click();
  await expect(p).not.toHaveURL(/scanner=/);
  await expect(rows.filter({ hasText: names.ts })).toHaveCount(1);
});

test('the scans list takes the same picker, keyboard only', async () => {
  await p.goto('/scans');
  const picker = p.getByRole('combobox', { name: 'Scanner' });
  await picker.focus();
  await picker.fill(`south-${stamp}`);
  await expect(p.getByRole('listbox', { name: 'Scanner' }).getByRole('option', { name: names.south })).toBeVisible();
  await picker.press('ArrowDown');
  await picker.press('Enter');
  await expect(p).toHaveURL(new RegExp(`[?&]scanner=${ids[names.south]}`));
  await expect(picker).toHaveValue(names.south);
});

test('the audit log names the resource of each record, with its id on hover and as the link', async () => {
  await p.goto('/audit?resource_type=template&resource_id=' + ids[names.tn]);
  const link = p.getByTestId('audit-resource').first();
  await expect(link).toHaveText(names.tn);
  await expect(link).toHaveAttribute('title', new RegExp(ids[names.tn]));
  await expect(link).toHaveAttribute('href', '/audit?resource_id=' + ids[names.tn]);
  // With a resource type that has a list, the resource is picked by name too.
  await p.goto('/audit?resource_type=template');
  const picker = p.getByRole('combobox', { name: 'Resource' });
  await picker.click();
  await picker.fill(names.ts);
  await p.getByRole('listbox', { name: 'Resource' }).getByRole('option', { name: names.ts }).click();
  await expect(p).toHaveURL(new RegExp(`resource_id=${ids[names.ts]}`));
  await expect(p.getByTestId('audit-resource')).toHaveText([names.ts]);
  await p.reload();
  await expect(picker).toHaveValue(names.ts);

  await p.goto('/audit?action=scanner.register');
  await expect(p.getByTestId('audit-resource').filter({ hasText: names.north })).toHaveCount(1);
});
