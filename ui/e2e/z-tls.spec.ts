// The public FQDN and the TLS certificate in a real browser against a real mipo: set the FQDN on
// the settings page, see an upload for another name refused with its reason, upload a
// certificate for the FQDN signed by a CA made here (openssl), see the TLS page show it, and see
// a scanner install command carry the FQDN, and the scanner page name the scanner left on the
// old pin.
//
// Runs after ui.spec.ts (the setup wizard); run alone, it makes the owner itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ownerPage } from './owner';

const FQDN = 'mipo.e2e.test';

test.describe.configure({ mode: 'serial' });

let p: Page;
let dir = '';

/** A CA and a server certificate for `name`, signed by it: the chain (leaf, root) and the key. */
function certificateFor(name: string): { chain: string; key: string } {
  const sub = mkdtempSync(join(dir, 'pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: sub, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '30', '-subj', '/CN=mipo e2e root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${name}`);
  writeFileSync(join(sub, 'leaf.ext'), `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth\n`);
  ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '20',
    '-extfile', 'leaf.ext');
  return { chain: readFileSync(join(sub, 'leaf.pem'), 'utf8') + readFileSync(join(sub, 'ca.pem'), 'utf8'), key: readFileSync(join(sub, 'leaf.key'), 'utf8') };
}

test.beforeAll(async ({ browser }) => {
  dir = mkdtempSync(join(tmpdir(), 'mipo-e2e-tls-'));
  p = await ownerPage(browser);
  await p.goto('/');
  await expect(nav()).toContainText('Settings');
});

test.afterAll(async () => {
  await p.context().close();
  rmSync(dir, { recursive: true, force: true });
});

const nav = () => p.getByRole('navigation', { name: 'Main' });

/** Adds a scanner through the dialog and returns its install command. */
async function addScanner(name: string): Promise<string> {
  await nav().getByRole('link', { name: 'Scanners', exact: true }).click();
  await p.getByRole('button', { name: 'Add scanner' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByLabel('Scanner name').fill(name);
  await dialog.getByLabel('Binding').fill('127.0.0.0/8');
  await dialog.getByRole('button', { name: 'Create install command' }).click();
  const command = (await dialog.getByTestId('install-command').textContent())!;
  await dialog.getByRole('button', { name: 'Done' }).click();
  return command;
}

test('set the FQDN, upload a certificate for it, see the TLS page and the install command follow', async () => {
  await nav().getByRole('link', { name: 'Settings', exact: true }).click();
  await expect(p.getByTestId('fqdn-dependents')).toContainText('TLS certificate');
  await p.getByLabel('Public address (FQDN)').fill(FQDN);
  await p.getByRole('button', { name: 'Save' }).click();
  await expect(p.getByText('Settings saved.')).toBeVisible();

  // A scanner registered now is given the self-signed certificate's key to trust.
  const first = await addScanner('e2e-pinned');
  const token = first.match(/--token '([^']+)'/)![1];
  const reg = await p.request.post('/scanner/v1/register', { data: { token, hostname: 'pinned-host', version: 'e2e', capacity: { max_concurrency: 10 } } });
  expect(reg.status()).toBe(200);

  await nav().getByRole('link', { name: 'TLS certificate' }).click();
  await expect(p).toHaveURL(/\/tls$/);
  await expect(p.getByTestId('tls-source')).toHaveText('self-signed');
  await expect(p.getByText(`Public address: ${FQDN}`)).toBeVisible();

  // A certificate for another name is refused, and the field says why.
  const other = certificateFor('other.e2e.test');
  const upload = p.getByRole('form', { name: 'Upload a certificate' });
  await upload.getByLabel('Certificate chain (PEM)').fill(other.chain);
  await upload.getByLabel('Private key (PEM)').fill(other.key);
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect(upload.getByRole('alert')).toContainText(`do not cover the public FQDN ${FQDN}`);
  await expect(p.getByTestId('tls-source')).toHaveText('self-signed');

  const good = certificateFor(FQDN);
  await upload.getByLabel('Certificate chain (PEM)').fill(good.chain);
  await upload.getByLabel('Private key (PEM)').fill(good.key);
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect(p.getByText('Certificate uploaded and in use.')).toBeVisible();
  await expect(p.getByTestId('tls-source')).toHaveText('uploaded');
  await expect(p.getByTestId('tls-names')).toHaveText(FQDN);
  await expect(p.getByTestId('tls-issuer')).toContainText('mipo e2e root');

  // The scanner page names the scanner left on the old pin; a new install command uses the FQDN.
  const command = await addScanner('e2e-tls');
  expect(command).toContain(`--server 'https://${FQDN}'`);
  expect(command).toContain(`https://${FQDN}/scanner/install.sh`);
  await expect(p.getByTestId('stale-pins')).toContainText('e2e-pinned');
});
