// A small history-API router. The current path and query are reactive state; links are plain
// <a href="/users?role=…"> (the shell intercepts same-origin clicks), so everything is a real
// URL: it can be bookmarked, opened in a new tab, and back/forward work.

class Router {
  path = $state(typeof location === 'undefined' ? '/' : location.pathname);
  search = $state(typeof location === 'undefined' ? '' : location.search);

  sync() {
    this.path = location.pathname;
    this.search = location.search;
  }
}

export const router = new Router();

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => router.sync());
}

/** Goes to a path inside the UI (push by default; replace for redirects and typing). */
export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const url = new URL(to, location.origin);
  const target = url.pathname + url.search + url.hash;
  if (target === location.pathname + location.search + location.hash) return;
  if (opts.replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  router.sync();
  if (!opts.replace && !url.hash) window.scrollTo(0, 0);
}

/** Replaces the query of the current page (table state), keeping the path. */
export function setSearch(search: string, opts: { replace?: boolean } = {}) {
  navigate(location.pathname + search, opts);
}

/** The current page with its query, for "return here after signing in". */
export function here(): string {
  return location.pathname + location.search;
}

/** Only same-origin, in-app paths are followed after sign-in: no open redirect. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/api/')) return '/';
  return next;
}

/**
 * Follows same-origin link clicks inside the app without a page load. Modified clicks
 * (new tab, download) and links to the API (exports) are left to the browser.
 */
export function interceptLinks(e: MouseEvent) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || !a.href || a.target || a.hasAttribute('download') || a.getAttribute('rel') === 'external') return;
  const url = new URL(a.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  // An anchor on this page (the skip link): the browser scrolls and moves focus itself.
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

/** Matches a route pattern ("/users", "/users/:id", "/docs/*") against a path. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '*') {
      params['*'] = s.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    if (i >= s.length) return null;
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return p.length === s.length ? params : null;
}
