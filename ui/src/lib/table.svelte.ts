// A server-side table's controller: state in the URL (table-state.ts), items from the API.
//
//     const table = createTable(
//       { sorts: ['username', 'created_at'], defaultSort: 'username', filters: ['q', 'role'] },
//       (query) => call(api.GET('/api/v1/users', { params: { query } })),
//     );
//
// Create it during component initialisation; render it with <DataTable {table} …>.
import { untrack } from 'svelte';
import { ApiError } from '../api/client';
import type { Page } from '../api/types';
import { router, setSearch } from './router.svelte';
import * as ts from './table-state';

export type Loader<T> = (query: Record<string, any>) => Promise<Page<T>>;

export class Table<T> {
  readonly spec: ts.TableSpec;
  readonly #load: Loader<T>;
  readonly #path = router.path;
  #seq = 0;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #pending: Record<string, string> = {};

  state = $derived.by(() => ts.parseTableState(router.search, this.spec));
  items = $state<T[]>([]);
  nextCursor = $state('');
  loading = $state(true);
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  constructor(spec: ts.TableSpec, load: Loader<T>) {
    this.spec = spec;
    this.#load = load;
    $effect(() => {
      if (router.path !== this.#path) return; // leaving the page
      const q = ts.apiQuery(this.state);
      untrack(() => this.fetch(q));
    });
  }

  async fetch(q = ts.apiQuery(this.state), quiet = false) {
    const seq = ++this.#seq;
    if (!quiet) this.loading = true;
    try {
      const page = await this.#load(q);
      if (seq !== this.#seq) return;
      this.items = page.items ?? [];
      this.nextCursor = page.next_cursor ?? '';
      this.error = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      this.error = e instanceof ApiError ? e : new ApiError(0, 'client', String(e));
      this.items = [];
      this.nextCursor = '';
    } finally {
      if (seq === this.#seq) {
        this.loading = false;
        this.loaded = true;
      }
    }
  }

  /** Reloads the current page (after a create, edit or delete). */
  reload() {
    return this.fetch();
  }

  /** Reloads without showing it (live lists polled while something runs); a failure still shows. */
  refresh() {
    return this.fetch(ts.apiQuery(this.state), true);
  }

  #go(next: ts.TableState, replace = false) {
    setSearch(ts.tableStateToSearch(next, this.spec, router.search), { replace });
  }

  filter(name: string): string {
    return this.state.filters[name] ?? '';
  }
  setFilter(name: string, value: string) {
    this.setFilters({ [name]: value });
  }
  /** Sets several filters in one step (one history entry); empty values clear. */
  setFilters(values: Record<string, string>) {
    Object.assign(this.#pending, values);
    this.#flush();
  }
  /** For text inputs: applies after typing pauses (with any other filter typed meanwhile). */
  setFilterLater(name: string, value: string, ms = 350) {
    this.#pending[name] = value;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#flush(), ms);
  }
  #flush() {
    clearTimeout(this.#debounce);
    let next = this.state;
    for (const [k, v] of Object.entries(this.#pending)) next = ts.setFilter(next, k, v.trim());
    this.#pending = {};
    this.#go(next);
  }
  clearFilters() {
    clearTimeout(this.#debounce);
    this.#pending = {};
    this.#go(ts.clearFilters(this.state));
  }
  get filtered() {
    return Object.keys(this.state.filters).length > 0;
  }
  sortBy(field: string) {
    this.#go(ts.toggleSort(this.state, field));
  }
  direction(field: string) {
    return ts.sortDirection(this.state, field);
  }
  setLimit(n: number) {
    this.#go(ts.setLimit(this.state, n));
  }
  next() {
    if (this.nextCursor) this.#go(ts.nextPage(this.state, this.nextCursor));
  }
  prev() {
    this.#go(ts.prevPage(this.state));
  }
  first() {
    this.#go(ts.toFirstPage(this.state));
  }
  get page() {
    return ts.pageNumber(this.state);
  }
}

export function createTable<T>(spec: ts.TableSpec, load: Loader<T>): Table<T> {
  return new Table(spec, load);
}
