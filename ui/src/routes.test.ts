// The docs parity test: every page of the UI has its documentation at the same path under /docs,
// drawn from its help file, and every docs page belongs to a page.
import { describe, expect, it } from 'vitest';
import { DOC_GROUPS, NAV_GROUPS, docsPath } from './lib/help';
import { matchPath } from './lib/router.svelte';
import { helpPages, routes } from './routes';

const pages = routes.filter((r) => !r.redirect && !r.docs);

describe('route table ↔ docs', () => {
  it.each(pages.map((r) => [r.path, r]))('%s has a docs entry at the same path', (_, r) => {
    expect(r.help, `route ${r.path} has no help file: add pages/<page>/help.ts and name it in routes.ts`).toBeDefined();
    expect(r.help!.path).toBe(r.path);
    const docs = routes.find((d) => d.docs && matchPath(d.path, docsPath(r.help!)));
    expect(docs, `no docs route serves ${docsPath(r.help!)}`).toBeDefined();
  });

  it('every help entry is complete enough for both QuickHelp and the docs page', () => {
    for (const h of helpPages) {
      expect(h.title, h.path).not.toBe('');
      expect(h.summary.length, `${h.path} summary`).toBeGreaterThan(20);
      expect(DOC_GROUPS).toContain(h.group);
      expect(h.howto.length + h.fields.length + h.gotchas.length, `${h.path} has nothing for QuickHelp`).toBeGreaterThan(0);
      for (const t of h.howto) expect(t.steps.length, `${h.path}: ${t.title}`).toBeGreaterThan(0);
      for (const a of h.api) expect(a, h.path).toMatch(/^(GET|POST|PUT|PATCH|DELETE) \/api\/v1\//);
    }
  });

  it('no two pages share a docs path, and no docs entry is left without its page', () => {
    const paths = helpPages.map(docsPath);
    expect(new Set(paths).size).toBe(paths.length);
    for (const h of helpPages) expect(pages.map((r) => r.path)).toContain(h.path);
  });

  it('a page in the navigation sits in its help file’s group and names the scopes that show it', () => {
    for (const r of routes.filter((r) => r.nav)) {
      expect(NAV_GROUPS).toContain(r.nav!.group);
      expect(r.help!.group).toBe(r.nav!.group);
      expect(r.scopes?.length, `${r.path} is in the navigation without scopes`).toBeGreaterThan(0);
    }
  });

  it('paths match as the router sees them', () => {
    expect(matchPath('/docs/*', '/docs/audit')).toEqual({ '*': 'audit' });
    expect(matchPath('/docs/*', '/docs/config/subnets')).toEqual({ '*': 'config/subnets' });
    expect(matchPath('/users/:id', '/users/abc')).toEqual({ id: 'abc' });
    expect(matchPath('/users', '/users/abc')).toBeNull();
    expect(matchPath('/', '/')).toEqual({});
  });
});
