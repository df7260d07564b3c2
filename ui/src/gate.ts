// Where the app's state allows the user to be: the setup wizard while setup is needed, sign-in
// for a signed-out user on a private page, and never back to setup or sign-in once signed in.
// Pure, so the rules are unit-tested (gate.test.ts); App.svelte applies them.
import { safeNext } from './lib/router.svelte';
import type { Status } from './lib/session.svelte';
import type { RouteDef } from './routes';

/** The path to go to instead of this one, or null to stay. Docs are open in every state. */
export function redirectFor(status: Status, route: Pick<RouteDef, 'path' | 'access' | 'docs'> | null, path: string, search: string): string | null {
  if (status === 'loading' || status === 'offline' || route?.docs) return null;
  if (status === 'setup') return route?.path === '/setup' ? null : '/setup';
  if (route?.access === 'setup') return status === 'ready' ? '/' : '/login';
  if (status === 'ready' && route?.path === '/login') return safeNext(new URLSearchParams(search).get('next'));
  if (status === 'signed-out' && route?.access !== 'public') {
    return path === '/' ? '/login' : `/login?next=${encodeURIComponent(path + search)}`;
  }
  return null;
}
