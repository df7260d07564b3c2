// Who is signed in, with which scopes, and the app's overall state: loading, setup needed,
// signed out, or signed in. The API client's hooks live here: the CSRF token on every non-GET
// request, back to sign-in on a 401, to the setup wizard on setup_required.
import { api, call, ApiError, setClientHooks } from '../api/client';
import type { Me } from '../api/types';
import { here, navigate, router } from './router.svelte';

export type Status = 'loading' | 'setup' | 'signed-out' | 'ready' | 'offline';

class Session {
  me = $state<Me | null>(null);
  status = $state<Status>('loading');
  /** Shown on the sign-in page: why the user is there ("your session expired"). */
  notice = $state('');

  get csrf() {
    return this.me?.csrf_token;
  }

  /** The owner holds every scope; everyone else holds their roles' scopes. */
  can(scope: string): boolean {
    return !!this.me && (this.me.owner || this.me.scopes.includes(scope));
  }

  canAny(scopes: readonly string[] | undefined): boolean {
    return !scopes || scopes.length === 0 || scopes.some((s) => this.can(s));
  }

  async load() {
    try {
      this.me = await call(api.GET('/api/v1/auth/me'));
      this.status = 'ready';
    } catch (e) {
      this.me = null;
      if (e instanceof ApiError && e.status === 409 && e.code === 'setup_required') this.status = 'setup';
      else if (e instanceof ApiError && e.status === 401) this.status = 'signed-out';
      else this.status = 'offline';
    }
  }

  signedIn(me: Me) {
    this.me = me;
    this.status = 'ready';
    this.notice = '';
  }

  /** A 401 in the middle of a session: back to sign-in, then back here. */
  expired(code: string) {
    if (this.status !== 'ready') return;
    this.me = null;
    this.status = 'signed-out';
    this.notice =
      code === 'session_expired' ? 'Your session expired. Sign in again to continue where you were.' : 'You are no longer signed in. Sign in again to continue where you were.';
    const path = router.path;
    navigate(`/login?next=${encodeURIComponent(here())}`, { replace: path === '/login' });
  }

  async logout() {
    // A session begun through a provider may end the provider's session too (RP-initiated
    // logout): ask where to go before this session, which the answer depends on, ends.
    let providerLogout = '';
    try {
      providerLogout = (await call(api.GET('/api/v1/auth/oidc/end-session'))).url;
    } catch {
      /* no provider logout */
    }
    try {
      await call(api.POST('/api/v1/auth/logout'));
    } catch {
      /* signed out either way */
    }
    if (providerLogout) {
      location.assign(providerLogout);
      return;
    }
    this.me = null;
    this.status = 'signed-out';
    this.notice = 'You signed out.';
    navigate('/login');
  }
}

export const session = new Session();

setClientHooks({
  csrfToken: () => session.csrf,
  unauthorized: (code, path) => {
    // A wrong password is an answer, not an expired session.
    if (path === '/api/v1/auth/login' || path === '/api/v1/auth/password') return;
    session.expired(code);
  },
  setupRequired: () => {
    session.me = null;
    session.status = 'setup';
  },
});
