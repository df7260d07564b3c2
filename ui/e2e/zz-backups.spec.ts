// Backups in a real browser against a real mipo (--role=all, so the backup role runs in the same
// process): make a config backup, see it listed with its size and open its manifest, then
// restore it — the confirmation wants the installation's name — and watch the progress to done.
//
// Test files run in name order against one server; this one runs last, because a restore puts
// the installation back to the backup's moment. Run alone, it makes the owner itself.
import { expect, test, type Page } from '@playwright/test';
import { ownerPage } from './owner';


test.describe.configure({ mode: 'serial' });

let p: Page;

test.beforeAll(async ({ browser }) => {
  p = await ownerPage(browser);
  await p.goto('/');
  await expect(nav()).toContainText('Backups');
});

test.afterAll(async () => {
  await p.context().close();
});

const nav = () => p.getByRole('navigation', { name: 'Main' });
const dialog = () => p.getByRole('dialog');

test('trigger a backup and see it listed with its size and manifest', async () => {
  await nav().getByRole('link', { name: 'Backups', exact: true }).click();
  await expect(p).toHaveURL(/\/backups$/);
  await p.getByRole('button', { name: 'Back up config' }).click();
  const row = p.getByRole('table', { name: 'Backups' }).getByRole('row').filter({ hasText: 'config' }).first();
  await expect(row).toContainText('full');
  await expect(row).toContainText(/\d+(\.\d)? (B|KiB|MiB)/);
  await row.getByRole('button', { name: 'Manifest' }).click();
  await expect(dialog()).toContainText('Audit chain head');
  await expect(dialog().getByRole('table', { name: 'Parts' })).toContainText('audit_log');
  await dialog().getByRole('button', { name: 'Close' }).click();
});

test('backup settings: an out-of-range retention is refused on its field, a valid one saved', async () => {
  const form = p.getByRole('form', { name: 'Backup settings' });
  await form.getByLabel('S3 retention (days)').fill('400');
  await form.getByRole('button', { name: 'Save backup settings' }).click();
  await expect(form.getByLabel('S3 retention (days)')).toHaveAttribute('aria-invalid', 'true');
  await form.getByLabel('S3 retention (days)').fill('60');
  await form.getByLabel('Secret key').fill('e2e-secret');
  await form.getByRole('button', { name: 'Save backup settings' }).click();
  await expect(p.getByText('Backup settings saved.')).toBeVisible();
  const s = await (await p.request.get('/api/v1/backups/settings')).json();
  expect(s.replication.retention_days).toBe(60);
  expect(s.replication.has_secret_key).toBe(true);
});

test('restore it with the installation name typed, and watch the progress to done', async () => {
  // A restore loads three databases: on a busy machine longer than the default 30 s a test
  // gets, though the wait for "done" below allows 60 s. Three times the default covers both.
  test.slow();
  const install = (await (await p.request.get('/api/v1/backups')).json()).install as string;
  const row = p.getByRole('table', { name: 'Backups' }).getByRole('row').filter({ hasText: 'config' }).first();
  await row.getByRole('button', { name: 'Restore' }).click();
  const go = dialog().getByRole('button', { name: 'Restore' });
  await dialog().getByLabel('Installation name').fill('not-' + install);
  await expect(go).toBeDisabled();
  await dialog().getByLabel('Installation name').fill(install);
  await go.click();
  const progress = p.getByRole('region', { name: 'Progress' });
  await expect(progress).toContainText('restore');
  await expect(p.getByTestId('activity-step')).toHaveText('done', { timeout: 60_000 });
  await expect(progress.getByRole('progressbar', { name: 'Restore progress' })).toHaveAttribute('value', '100');
  // The installation runs on: the list still answers, now with the restore in the audit log.
  const audit = await (await p.request.get('/api/v1/audit?action=backup.restore')).json();
  expect(JSON.stringify(audit)).toContain('backup.restore');
});
