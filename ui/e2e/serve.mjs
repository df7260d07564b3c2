// Builds mipo from this repository and runs `mipo serve` on a fresh embedded PostgreSQL in a
// temporary directory, on 127.0.0.1:$MIPO_E2E_PORT, until it is told to stop; then stops mipo
// (which stops its database) and removes the directory. Playwright's webServer starts this.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const port = process.env.MIPO_E2E_PORT;
if (!port) throw new Error('MIPO_E2E_PORT is not set');

const dir = mkdtempSync(join(tmpdir(), 'mipo-e2e-'));
// PostgreSQL runs as the postgres user when mipo runs as root: it must be able to traverse here.
chmodSync(dir, 0o711);
const bin = join(dir, 'mipo');
process.stderr.write(`e2e: building mipo into ${bin}\n`);
execFileSync('go', ['build', '-o', bin, '.'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });

const child = spawn(bin, ['serve', '--tls=off', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')], {
  stdio: ['ignore', 'ignore', 'pipe'],
  env: { ...process.env, MIPO_LOG_LEVEL: 'warn', MIPO_LOG_FORMAT: 'text' },
});
child.stderr.on('data', (b) => process.stderr.write(b));

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
}
child.on('exit', (code, signal) => {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    process.stderr.write(`e2e: could not remove ${dir}: ${e}\n`);
  }
  if (!stopping) process.stderr.write(`e2e: mipo exited on its own (code ${code}, signal ${signal})\n`);
  process.exit(stopping ? 0 : 1);
});
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, stop);
