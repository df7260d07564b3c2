// The state of a server-side table — sort, page size, page position and filters — and its
// mapping to and from the page's URL query, so a filtered, sorted view survives a reload, can be
// bookmarked and shared, and back/forward walk through it. Pure functions: table.svelte.ts
// wires them to the router and the API.

/** What a table accepts. Names are the API's query parameter names, used as-is in the URL. */
export interface TableSpec {
  /** Fields the API can sort by (without "-"). Empty: the table is not sortable (send no sort). */
  sorts: readonly string[];
  /** The API's default order, e.g. "username" or "-created_at"; left out of the URL. */
  defaultSort?: string;
  /** Filter parameters the API takes, e.g. ["q", "role", "auth"]. */
  filters: readonly string[];
  /** Page size when the URL names none (default 50). */
  defaultLimit?: number;
  /** Prefix for every parameter, when two tables share a page ("u." → "u.sort"). */
  prefix?: string;
}

export interface TableState {
  sort: string; // "" when unsorted, "name" ascending, "-name" descending
  limit: number;
  cursor: string; // "" on the first page
  prev: string[]; // cursors of the pages before this one, oldest first ("" is the first page)
  filters: Record<string, string>; // only non-empty values
}

export const LIMITS = [25, 50, 100, 200] as const;
const MAX_LIMIT = 500;

function key(spec: TableSpec, name: string) {
  return (spec.prefix ?? '') + name;
}

function defaults(spec: TableSpec) {
  return { sort: spec.sorts.length ? (spec.defaultSort ?? '') : '', limit: spec.defaultLimit ?? 50 };
}

/** Reads the table's state from a query string; anything unknown or malformed falls back to the default. */
export function parseTableState(search: string | URLSearchParams, spec: TableSpec): TableState {
  const q = typeof search === 'string' ? new URLSearchParams(search) : search;
  const d = defaults(spec);
  let sort = q.get(key(spec, 'sort')) ?? d.sort;
  if (!spec.sorts.includes(sort.replace(/^-/, ''))) sort = d.sort;
  const rawLimit = q.get(key(spec, 'limit'));
  let limit = d.limit;
  if (rawLimit !== null && /^\d+$/.test(rawLimit)) {
    const n = Number(rawLimit);
    if (n >= 1 && n <= MAX_LIMIT) limit = n;
  }
  const cursor = q.get(key(spec, 'cursor')) ?? '';
  // A later page bookmarked without its history: "previous" leads back to the first page.
  let prev = cursor ? q.getAll(key(spec, 'prev')) : [];
  if (cursor && prev.length === 0) prev = [''];
  const filters: Record<string, string> = {};
  for (const f of spec.filters) {
    const v = q.get(key(spec, f));
    if (v !== null && v !== '') filters[f] = v;
  }
  return { sort, limit, cursor, prev, filters };
}

/**
 * Writes the table's state into a query string, keeping the parameters that are not the
 * table's (another table's, a page's own). Defaults are left out, so the plain page has a plain URL.
 */
export function tableStateToSearch(state: TableState, spec: TableSpec, base: string | URLSearchParams = ''): string {
  const q = new URLSearchParams(base);
  const own = ['sort', 'limit', 'cursor', 'prev', ...spec.filters].map((n) => key(spec, n));
  for (const k of own) q.delete(k);
  const d = defaults(spec);
  for (const f of spec.filters) {
    const v = state.filters[f];
    if (v) q.append(key(spec, f), v);
  }
  if (state.sort && state.sort !== d.sort) q.append(key(spec, 'sort'), state.sort);
  if (state.limit !== d.limit) q.append(key(spec, 'limit'), String(state.limit));
  if (state.cursor) {
    q.append(key(spec, 'cursor'), state.cursor);
    for (const p of state.prev) q.append(key(spec, 'prev'), p);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** The query parameters to send to the list endpoint. */
export function apiQuery(state: TableState): Record<string, string | number> {
  const out: Record<string, string | number> = { ...state.filters, limit: state.limit };
  if (state.sort) out.sort = state.sort;
  if (state.cursor) out.cursor = state.cursor;
  return out;
}

function firstPage(state: TableState): TableState {
  return { ...state, cursor: '', prev: [] };
}

/** Clicking a column: ascending first, then descending, then ascending again. Back to page one. */
export function toggleSort(state: TableState, field: string): TableState {
  const sort = state.sort === field ? '-' + field : field;
  return firstPage({ ...state, sort });
}

/** Sets or clears (empty value) a filter. Back to page one, since the pages change. */
export function setFilter(state: TableState, name: string, value: string): TableState {
  const filters = { ...state.filters };
  if (value) filters[name] = value;
  else delete filters[name];
  return firstPage({ ...state, filters });
}

export function clearFilters(state: TableState): TableState {
  return firstPage({ ...state, filters: {} });
}

export function setLimit(state: TableState, limit: number): TableState {
  return firstPage({ ...state, limit });
}

export function nextPage(state: TableState, nextCursor: string): TableState {
  return { ...state, prev: [...state.prev, state.cursor], cursor: nextCursor };
}

export function prevPage(state: TableState): TableState {
  if (!state.cursor) return state;
  return { ...state, cursor: state.prev.at(-1) ?? '', prev: state.prev.slice(0, -1) };
}

export function toFirstPage(state: TableState): TableState {
  return firstPage(state);
}

/** The direction a column is sorted in, for the header's arrow and aria-sort. */
export function sortDirection(state: TableState, field: string): 'ascending' | 'descending' | 'none' {
  if (state.sort === field) return 'ascending';
  if (state.sort === '-' + field) return 'descending';
  return 'none';
}

/** Page number, 1-based, as far as the URL knows it. */
export function pageNumber(state: TableState): number {
  return state.cursor ? state.prev.length + 1 : 1;
}
