// Browser tests: Debian's Chromium (never a downloaded browser) against a real `mipo serve`
// built from this repository, on the embedded PostgreSQL, started by e2e/serve.mjs.
import { defineConfig } from '@playwright/test';

// Chosen once in the runner process; workers inherit the variable, so all agree on the port.
// Below Linux's ephemeral range (32768–60999), so no outgoing connection can hold it.
process.env.MIPO_E2E_PORT ||= String(20000 + Math.floor(Math.random() * 12000));
const baseURL = `http://127.0.0.1:${process.env.MIPO_E2E_PORT}`;

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL,
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'off',
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.MIPO_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: 'node e2e/serve.mjs',
    url: baseURL + '/readyz',
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
  },
});
