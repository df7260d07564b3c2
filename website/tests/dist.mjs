// Reading the built site (website/dist) for the tests: its pages, their links, ids and headings.
// Plain string work on Astro's output, so the checks share nothing with the code that made it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const dist = join(root, 'dist');
export const repo = join(root, '..');

if (!existsSync(join(dist, 'index.html'))) throw new Error('website/dist has no index.html: run `make site` first');

export function walk(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

export function decode(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&');
}

export function text(html) {
  return decode(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

/** Every page: its URL path ("/docs/audit/"), file and HTML. */
export const pages = walk(dist, '.html').map((file) => {
  const rel = '/' + relative(dist, file).split('\\').join('/');
  const url = rel.endsWith('/index.html') ? rel.slice(0, -'index.html'.length) : rel;
  return { url, file, html: readFileSync(file, 'utf8') };
});

/** The file a site path is served from, or undefined: "/docs/" -> dist/docs/index.html. */
export function fileFor(path) {
  const p = join(dist, decodeURIComponent(path));
  for (const f of [path.endsWith('/') ? join(p, 'index.html') : p, join(p, 'index.html'), p + '.html']) {
    if (existsSync(f) && statSync(f).isFile()) return f;
  }
  return undefined;
}

export function ids(html) {
  return new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => decode(m[1])));
}

/** The h1..h6 of a page, in document order. */
export function headings(html) {
  return [...html.matchAll(/<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1>/g)].map((m) => ({ level: Number(m[1]), text: text(m[2]) }));
}
