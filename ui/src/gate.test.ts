import { describe, expect, it } from 'vitest';
import { redirectFor } from './gate';
import { NAV_GROUPS } from './lib/help';
import { safeNext } from './lib/router.svelte';
import { navFor } from './nav';
import { routes } from './routes';

const r = (path: string) => routes.find((x) => x.path === path)!;

describe('redirectFor', () => {
  it('sends everything but the docs to the wizard while setup is needed', () => {
    expect(redirectFor('setup', r('/users'), '/users', '')).toBe('/setup');
    expect(redirectFor('setup', r('/login'), '/login', '')).toBe('/setup');
    expect(redirectFor('setup', null, '/nowhere', '')).toBe('/setup');
    expect(redirectFor('setup', r('/setup'), '/setup', '')).toBeNull();
    expect(redirectFor('setup', r('/docs/*'), '/docs/audit', '')).toBeNull();
  });

  it('sends a signed-out user to sign-in, remembering the page and its query', () => {
    expect(redirectFor('signed-out', r('/users'), '/users', '?role=r1&sort=-username')).toBe('/login?next=%2Fusers%3Frole%3Dr1%26sort%3D-username');
    expect(redirectFor('signed-out', r('/'), '/', '')).toBe('/login');
    expect(redirectFor('signed-out', r('/login'), '/login', '')).toBeNull();
    expect(redirectFor('signed-out', r('/docs'), '/docs', '')).toBeNull();
    expect(redirectFor('signed-out', r('/setup'), '/setup', '')).toBe('/login');
  });

  it('sends a signed-in user on from sign-in and setup, only to paths inside the app', () => {
    expect(redirectFor('ready', r('/login'), '/login', '?next=%2Faudit%3Faction%3Duser.update')).toBe('/audit?action=user.update');
    expect(redirectFor('ready', r('/login'), '/login', '?next=https%3A%2F%2Fevil.example')).toBe('/');
    expect(redirectFor('ready', r('/setup'), '/setup', '')).toBe('/');
    expect(redirectFor('ready', r('/users'), '/users', '')).toBeNull();
    expect(redirectFor('loading', r('/users'), '/users', '')).toBeNull();
  });

  it('never follows a next that leaves the app', () => {
    for (const bad of ['//evil.example/x', 'https://evil.example', '/api/v1/users', 'javascript:alert(1)', '']) expect(safeNext(bad)).toBe('/');
  });
});

describe('navigation', () => {
  const labels = (can: (s: string) => boolean) =>
    navFor((route) => !route.scopes || route.scopes.some(can)).map((s) => `${s.group}: ${s.items.map((i) => i.label).join(', ')}`);

  it('shows every group with entries to a user holding every scope, in the features page’s order', () => {
    const all = labels(() => true);
    expect(all).toContain('Scanners: Scanners, Fleet health, Scanner groups, Firewall allowlist');
    expect(all.slice(-2)).toEqual(['Audit: Audit log', 'Administration: Users, Roles and scopes, Settings, Sign-in providers, TLS certificate, Backups']);
    const groups = all.map((g) => g.slice(0, g.indexOf(':')));
    expect(groups).toEqual(NAV_GROUPS.filter((g) => groups.includes(g)));
  });

  it('shows only what the scopes permit, and leaves empty groups out', () => {
    expect(labels((s) => s === 'users:view' || s === 'audit:view')).toEqual(['Audit: Audit log', 'Administration: Users']);
    expect(labels((s) => s === 'settings:view')).toEqual(['Administration: Settings, Sign-in providers, TLS certificate']);
    expect(labels(() => false)).toEqual([]);
  });
});
