// The built site against its sources: links resolve, every UI help file has its page, the API
// reference lists every route of the OpenAPI document, and every page is accessible in the ways
// a static check can see (image alt text, one h1, headings in order).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decode, fileFor, headings, ids, pages, repo, text, walk } from './dist.mjs';

test('every internal link and asset resolves, fragments included', () => {
  const broken = [];
  const idCache = new Map();
  for (const page of pages) {
    for (const m of page.html.matchAll(/\s(href|src)="([^"]*)"/g)) {
      const raw = decode(m[2]);
      if (/^[a-z][a-z0-9+.-]*:/i.test(raw) || raw.startsWith('//')) continue; // external or data:
      const url = new URL(raw, 'http://site' + page.url);
      const file = url.pathname === new URL('http://site' + page.url).pathname && raw.startsWith('#') ? page.file : fileFor(url.pathname);
      if (!file) {
        broken.push(`${page.url}: ${raw} (no such page or file)`);
        continue;
      }
      const frag = decodeURIComponent(url.hash.slice(1));
      if (frag && file.endsWith('.html')) {
        if (!idCache.has(file)) idCache.set(file, ids(readFileSync(file, 'utf8')));
        if (!idCache.get(file).has(frag)) broken.push(`${page.url}: ${raw} (no element with id "${frag}")`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

/** Each UI help file's top-level path and title, read as text (the site's build imports them). */
function helpFiles() {
  return walk(join(repo, 'ui/src/pages'), 'help.ts').map((file) => {
    const src = readFileSync(file, 'utf8');
    // A top-level string property, in any of JavaScript's three quotes.
    const field = (name) => new RegExp(`^\\s{2}${name}:\\s*(['"\`])((?:(?!\\1)[^\\\\]|\\\\.)*)\\1`, 'm').exec(src)?.[2]?.replace(/\\(.)/g, '$1');
    return { file, path: field('path'), title: field('title'), summary: field('summary') };
  });
}

test('every UI help entry has its page on the site, titled as in the UI', () => {
  const helps = helpFiles();
  assert.ok(helps.length > 0, 'no help files found under ui/src/pages');
  const missing = [];
  for (const h of helps) {
    assert.ok(h.path && h.title, `${h.file}: no path or title found`);
    // The home page's path is "/": its page is /docs/home/ (as website/src/lib/help.ts names it),
    // /docs/ itself being the index.
    const url = `/docs/${h.path === '/' ? 'home' : h.path.replace(/^\/+/, '').replace(/:/g, '')}/`;
    const page = pages.find((p) => p.url === url);
    if (!page) missing.push(`${h.path} (${h.file}): no page at ${url}`);
    else if (!headings(page.html).some((x) => x.level === 1 && x.text === h.title)) missing.push(`${url}: no h1 "${h.title}"`);
    else if (h.summary && !text(page.html).includes(h.summary.replace(/`/g, ''))) missing.push(`${url}: the summary differs from the help file's`);
    else if (!pages.find((p) => p.url === '/docs/')?.html.includes(`href="${url}"`)) missing.push(`${url}: not linked from /docs/`);
  }
  assert.deepEqual(missing, []);
});

test('every help file the route table imports is one the site reads', () => {
  // The site globs ui/src/pages/**/help.ts; a help file kept anywhere else would be in the app's
  // docs and QuickHelp but missing here.
  const routes = readFileSync(join(repo, 'ui/src/routes.ts'), 'utf8');
  const imports = [...routes.matchAll(/^import (\w+) from '([^']+)';/gm)].filter((m) => /help$/i.test(m[1]));
  assert.ok(imports.length > 0, 'no help imports found in ui/src/routes.ts');
  assert.deepEqual(imports.filter((m) => !/^\.\/pages\/.+\/help$/.test(m[2])).map((m) => `${m[1]} from ${m[2]}`), []);
});

test('the API reference lists every route of the OpenAPI document', () => {
  const spec = JSON.parse(readFileSync(join(repo, 'ui/src/api/openapi.json'), 'utf8'));
  const routes = Object.entries(spec.paths).flatMap(([path, item]) =>
    ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.ok(routes.length > 0);
  const api = pages.filter((p) => p.url.startsWith('/docs/api/'));
  const overview = text(api.find((p) => p.url === '/docs/api/').html);
  const detailed = new Set(api.flatMap((p) => headings(p.html).filter((h) => h.level === 2).map((h) => h.text)));
  assert.deepEqual(routes.filter((r) => !overview.includes(r)), [], 'missing from the overview at /docs/api/');
  assert.deepEqual(routes.filter((r) => !detailed.has(r)), [], 'without a section on an API page');
  const schemaPage = api.find((p) => p.url === '/docs/api/schemas/');
  const shown = new Set(headings(schemaPage.html).filter((h) => h.level === 2).map((h) => h.text));
  assert.deepEqual(Object.keys(spec.components?.schemas ?? {}).filter((n) => !shown.has(n)), [], 'schemas missing from /docs/api/schemas/');
});

test('every page: images have alt text, one h1, headings in order', () => {
  const problems = [];
  for (const page of pages) {
    for (const img of page.html.matchAll(/<img\b[^>]*>/g)) {
      if (!/\salt="[^"]+"/.test(img[0])) problems.push(`${page.url}: image without alt text: ${img[0]}`);
    }
    for (const svg of page.html.matchAll(/<svg\b[^>]*role="img"[^>]*>/g)) {
      if (!/aria-label(ledby)?="[^"]+"/.test(svg[0])) problems.push(`${page.url}: svg image without a label`);
    }
    const hs = headings(page.html);
    const h1s = hs.filter((h) => h.level === 1).length;
    if (h1s !== 1) problems.push(`${page.url}: ${h1s} h1 headings`);
    hs.forEach((h, i) => {
      if (i > 0 && h.level > hs[i - 1].level + 1) problems.push(`${page.url}: h${h.level} "${h.text}" follows h${hs[i - 1].level}`);
    });
  }
  assert.deepEqual(problems, []);
});

test('every feature on the home page links to its documentation', () => {
  const home = pages.find((p) => p.url === '/');
  assert.ok(home, 'the home page was built');
  // index.astro prints this for a feature none of whose docs targets exists.
  const missing = [...home.html.matchAll(/<h3[^>]*>([^<]*)<\/h3>(?:(?!<h3)[\s\S])*?class="not-yet[" ]/g)].map((m) => m[1]);
  assert.equal((home.html.match(/class="not-yet[" ]/g) ?? []).length, 0, `features without documentation: ${missing.join(', ') || '(see the home page)'}`);
});
