// Prints, or with --write stamps into dist/.source-hash, the SHA-256 of everything the build
// reads: src/ and public/ (unit tests excepted), the package and lock files, the Vite, TypeScript
// and Svelte configs and index.html. ui/embed_test.go computes the same hash in Go, so CI fails
// when ui/dist was not rebuilt after a change — without needing Node.js for that check.
//
// The hash: for each file in byte order of its path relative to ui/, the line
// "<path>\0<sha256 of its bytes in hex>\n"; the SHA-256 of all those lines.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TOP = ['package.json', 'package-lock.json', 'vite.config.ts', 'tsconfig.json', 'svelte.config.js', 'index.html'];
const TREES = ['src', 'public'];

function walk(dir, out) {
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = dir + '/' + e.name;
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && !e.name.includes('.test.')) out.push(p);
  }
  return out;
}

const files = [...TOP, ...TREES.flatMap((t) => walk(t, []))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
const h = createHash('sha256');
for (const f of files) {
  const sum = createHash('sha256').update(readFileSync(join(root, f))).digest('hex');
  h.update(`${f}\0${sum}\n`);
}
const digest = h.digest('hex');
if (process.argv.includes('--write')) {
  writeFileSync(join(root, 'dist', '.source-hash'), digest + '\n');
  console.log(`stamped dist/.source-hash ${digest} over ${files.length} files`);
} else {
  console.log(digest);
}
