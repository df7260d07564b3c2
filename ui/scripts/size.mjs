// Prints the size of the built JavaScript: all of it, and what the first load of a page fetches
// (the entry, its preloaded chunks and the page's own chunk). Run after `make ui`: npm run size
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const page = process.argv[2] ?? 'Audit';
const js = readdirSync(dist + 'assets').filter((f) => f.endsWith('.js'));
const size = (files) =>
  files.reduce(
    (acc, f) => {
      const b = readFileSync(dist + 'assets/' + f);
      return { raw: acc.raw + b.length, gz: acc.gz + gzipSync(b, { level: 9 }).length };
    },
    { raw: 0, gz: 0 },
  );
const kb = (n) => (n / 1024).toFixed(1) + ' KiB';
const all = size(js);
const first = [...readFileSync(dist + 'index.html', 'utf8').matchAll(/\/assets\/([^"]+\.js)/g)].map((m) => m[1]);
first.push(...js.filter((f) => f.startsWith(page + '-')));
const load = size(first);
console.log(`all JavaScript: ${js.length} files, ${kb(all.raw)} raw, ${kb(all.gz)} gzip`);
console.log(`first load of the ${page} page: ${first.length} files, ${kb(load.raw)} raw, ${kb(load.gz)} gzip`);
