import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The build is embedded into the mipo binary (ui/embed.go) and served by modules/webui under a
// strict Content-Security-Policy: no inline script, no inline style, everything from 'self'.
export default defineConfig({
  plugins: [svelte()],
  base: '/',
  // `npx vite` serves the sources with hot reload and sends the API to a running mipo
  // (MIPO_DEV_URL, default the `make run` address; its self-signed certificate is accepted).
  server: {
    proxy: Object.fromEntries(
      ['/api', '/healthz', '/readyz'].map((p) => [p, { target: process.env.MIPO_DEV_URL ?? 'https://127.0.0.1:8443', secure: false, changeOrigin: true }]),
    ),
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    // Inlining assets as data: URLs would need a looser CSP; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    rolldownOptions: {
      output: {
        // Two shared chunks instead of one per module: the libraries, and the app's building
        // blocks and help data. Pages stay lazy, one chunk each.
        advancedChunks: {
          groups: [
            // uPlot only for the pages that draw charts, gridstack only for the dashboards page
            // and cronstrue only for the schedules pages: none in every page's first load.
            { name: 'uplot', test: /node_modules\/uplot/ },
            { name: 'cronstrue', test: /node_modules\/cronstrue/ },
            { name: 'vendor', test: /node_modules[\/](?!gridstack[\/]|uplot[\/]|cronstrue[\/])/ },
            { name: 'app', test: /\/src\/(lib|api|pages\/[^/]+\/help\.ts|routes\.ts|nav\.ts)/ },
          ],
        },
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
