// The one way the UI talks to mipo: a typed client generated from the OpenAPI document
// (openapi.json → schema.d.ts, by `make ui`). A path or a body the document does not describe
// does not compile, so the UI cannot call anything the API does not document.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import type { ItemOf, Ok, Page } from './types';

/** An API error in the one error shape: {"error": {"code", "message", "field", "detail"}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Reads an error body (or anything else a failed request produced) into an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; field?: unknown; detail?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string') {
    return new ApiError(status, e.code, typeof e.message === 'string' ? e.message : e.code, typeof e.field === 'string' && e.field ? e.field : undefined, e.detail);
  }
  return new ApiError(status, status === 0 ? 'network' : 'http_' + status, status === 0 ? 'mipo did not answer; check the connection and try again.' : `mipo answered ${status}.`);
}

/** What the session layer plugs in: the CSRF token and what to do on 401 and setup_required. */
export interface ClientHooks {
  csrfToken(): string | undefined;
  unauthorized(code: string, path: string): void;
  setupRequired(): void;
}

let hooks: ClientHooks = { csrfToken: () => undefined, unauthorized: () => {}, setupRequired: () => {} };

export function setClientHooks(h: ClientHooks) {
  hooks = h;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method)) {
      const t = hooks.csrfToken();
      if (t) request.headers.set('X-CSRF-Token', t);
    }
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status === 401 || response.status === 409) {
      let code = '';
      try {
        code = (await response.clone().json())?.error?.code ?? '';
      } catch {
        /* not JSON: nothing to read */
      }
      const path = new URL(request.url).pathname;
      if (response.status === 401) hooks.unauthorized(code, path);
      else if (code === 'setup_required') hooks.setupRequired();
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof location === 'undefined' ? 'http://localhost' : location.origin,
  credentials: 'same-origin',
  headers: { Accept: 'application/json' },
});
api.use(session);

/**
 * Awaits an openapi-fetch call and returns its data, or throws an ApiError. Network failures
 * become an ApiError with status 0, so every caller handles one kind of error.
 *
 *     const user = await call(api.GET('/api/v1/users/{id}', { params: { path: { id } } }));
 */
export async function call<D, E>(p: Promise<{ data?: D; error?: E; response: Response }>): Promise<D> {
  let r: { data?: D; error?: E; response: Response };
  try {
    r = await p;
  } catch (e) {
    throw new ApiError(0, 'network', 'mipo did not answer; check the connection and try again.');
  }
  if (!r.response.ok) throw toApiError(r.response.status, r.error);
  return r.data as D;
}

/**
 * The URL of a documented GET endpoint with its query, for what the browser must fetch itself:
 * downloads (exports) are plain links, so the browser streams them to disk.
 */
export function apiURL(path: keyof paths & `/api/v1/${string}`, query: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return path + (s ? '?' + s : '');
}

/** The lists that page by cursor, and what each lists. */
type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;
type ListPath = { [P in keyof paths]: [QueryOf<P>] extends [never] ? never : 'cursor' extends keyof QueryOf<P> ? P : never }[keyof paths];
type ListItem<P extends ListPath> = ItemOf<Ok<P, 'get'>>;

/**
 * Every item of a list, following the cursor 500 at a time: pickers and name lookups offer them all.
 *
 *     const templates = await loadAll('/api/v1/templates', { sort: 'name' });
 */
export async function loadAll<P extends ListPath>(path: P, query: { sort?: string } = {}): Promise<ListItem<P>[]> {
  const out: ListItem<P>[] = [];
  let cursor: string | undefined;
  do {
    // One path for every list: openapi-fetch types one path at a time, the result is typed above.
    const get = api.GET as (path: string, init: { params: { query: Record<string, unknown> } }) => Promise<{ data?: Page<ListItem<P>>; response: Response }>;
    const p = await call(get(path, { params: { query: { ...query, limit: 500, cursor } } }));
    out.push(...p.items);
    cursor = p.next_cursor || undefined;
  } while (cursor);
  return out;
}
