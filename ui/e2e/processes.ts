// What the stories that run their own mipo and mipo-scanner share: child processes whose output
// is kept for the failure report, waiting for a condition, stopping a process, and the report a
// failed test attaches (a photograph of the page and what the processes said).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Browser, type BrowserContext, type Page, type TestInfo } from '@playwright/test';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Starts a process whose output lines go to log, prefixed with its name. */
export function spawnLogged(log: string[], name: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => log.push(`[${name}] ${b.toString().trimEnd()}`);
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

/** Polls fn until it gives a value (errors count as not yet), or fails naming what it waited for. */
export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops a process with signal, and with SIGKILL if it is still there 15 s later. */
export function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** After a failed test: the page photographed, with the last of what the processes said. */
export async function reportFailure(info: TestInfo, page: Page | undefined, log: string[]): Promise<void> {
  if (info.status === info.expectedStatus) return;
  if (page && !page.isClosed()) {
    const path = info.outputPath('failure.png');
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    await info.attach(`screenshot (${page.url()})`, { path, contentType: 'image/png' }).catch(() => {});
  }
  await info.attach('processes.log', { body: log.slice(-200).join('\n'), contentType: 'text/plain' }).catch(() => {});
}

/**
 * A port for a mipo a story starts itself: below Linux's ephemeral range (32768–60999), so no
 * outgoing connection of another program can hold it when mipo binds, and not the shared server's.
 */
export function serverPort(): number {
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 12000);
    if (String(p) !== process.env.MIPO_E2E_PORT) return p;
  }
}

/**
 * A mipo of a story's own: e2e/serve.mjs on port with env, a mipo-scanner built from this
 * checkout into work, and its owner set up and signed in. onServer gets the server process as
 * soon as it starts, so the story's afterAll stops it even if a later step fails.
 */
export async function ownMipo(
  browser: Browser,
  o: {
    log: string[];
    work: string;
    port: number;
    env?: Record<string, string>;
    owner: { username: string; password: string; display: string };
    email: string;
    readyMs?: number;
    onServer: (server: ChildProcess) => void;
  },
): Promise<{ bin: string; ctx: BrowserContext; page: Page; csrf: string }> {
  const base = `http://127.0.0.1:${o.port}`;
  o.onServer(spawnLogged(o.log, 'mipo', 'node', [join(repo, 'ui/e2e/serve.mjs')], { MIPO_E2E_PORT: String(o.port), ...o.env }));
  const bin = join(o.work, 'mipo-scanner');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: join(repo, 'scanner'), stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CGO_ENABLED: '0' } });
  await until('mipo to be ready', o.readyMs ?? 90_000, async () => (await fetch(base + '/readyz')).ok);

  const ctx = await browser.newContext({ baseURL: base });
  const page = await ctx.newPage();
  const { username, password, display } = o.owner;
  const setup = await ctx.request.post(base + '/api/v1/setup', {
    data: { username, password, display_name: display, email: o.email, public_fqdn: 'mipo.example.org' },
  });
  expect(setup.status(), await setup.text()).toBeLessThan(300);
  const login = await ctx.request.post(base + '/api/v1/auth/login', { data: { username, password } });
  expect(login.status(), await login.text()).toBe(200);
  return { bin, ctx, page, csrf: (await login.json()).csrf_token };
}
