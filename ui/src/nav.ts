// The navigation, built from the route table and filtered by the user's scopes.
import { NAV_GROUPS, type NavGroup } from './lib/help';
import { session } from './lib/session.svelte';
import { routes, type RouteDef } from './routes';

export interface NavSection {
  group: NavGroup;
  items: { path: string; label: string }[];
}

/** Groups in the features page's order, each with the entries the user may open; empty groups left out. */
export function navFor(can: (r: RouteDef) => boolean): NavSection[] {
  return NAV_GROUPS.map((group) => ({
    group,
    items: routes.filter((r) => r.nav?.group === group && can(r)).map((r) => ({ path: r.path, label: r.nav!.label })),
  })).filter((s) => s.items.length > 0);
}

export function visibleNav(): NavSection[] {
  return navFor((r) => session.canAny(r.scopes));
}

/** Where "/" leads: the first page in the navigation, or the account page for a user with no scopes. */
export function firstPage(): string {
  return visibleNav()[0]?.items[0]?.path ?? '/tokens';
}

/** The one navigation entry to light for a path: the longest entry equal to it or above it. */
export function litEntry(paths: string[], path: string): string | null {
  let best: string | null = null;
  for (const p of paths) {
    if ((path === p || path.startsWith(p + '/')) && (!best || p.length > best.length)) best = p;
  }
  return best;
}
