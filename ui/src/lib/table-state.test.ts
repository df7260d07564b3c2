import { describe, expect, it } from 'vitest';
import {
  apiQuery,
  clearFilters,
  nextPage,
  pageNumber,
  parseTableState,
  prevPage,
  setFilter,
  setLimit,
  sortDirection,
  tableStateToSearch,
  toggleSort,
  type TableSpec,
  type TableState,
} from './table-state';

const users: TableSpec = {
  sorts: ['username', 'display_name', 'created_at', 'last_login_at'],
  defaultSort: 'username',
  filters: ['q', 'role', 'auth'],
};

describe('parseTableState', () => {
  it('gives the defaults for an empty query', () => {
    expect(parseTableState('', users)).toEqual({ sort: 'username', limit: 50, cursor: '', prev: [], filters: {} });
  });

  it('reads sort, limit, cursor, the previous cursors and the filters', () => {
    const s = parseTableState('?role=r1&auth=oidc&q=ann&sort=-created_at&limit=25&cursor=c2&prev=&prev=c1', users);
    expect(s).toEqual({ sort: '-created_at', limit: 25, cursor: 'c2', prev: ['', 'c1'], filters: { role: 'r1', auth: 'oidc', q: 'ann' } });
  });

  it('ignores what the table does not know and malformed values', () => {
    const s = parseTableState('sort=password&limit=9999&colour=red&role=&prev=x', users);
    expect(s).toEqual({ sort: 'username', limit: 50, cursor: '', prev: [], filters: {} });
    expect(parseTableState('limit=abc', users).limit).toBe(50);
    expect(parseTableState('limit=0', users).limit).toBe(50);
    expect(parseTableState('limit=500', users).limit).toBe(500);
    expect(parseTableState('sort=-username', users).sort).toBe('-username');
  });

  it('sends no sort for a table the API does not sort', () => {
    const audit: TableSpec = { sorts: [], filters: ['actor', 'outcome'] };
    const s = parseTableState('sort=at&outcome=failure', audit);
    expect(s.sort).toBe('');
    expect(apiQuery(s)).toEqual({ outcome: 'failure', limit: 50 });
  });
});

describe('tableStateToSearch', () => {
  it('leaves defaults out, so the plain page has a plain URL', () => {
    expect(tableStateToSearch(parseTableState('', users), users)).toBe('');
  });

  it('round-trips every state through the URL', () => {
    const states: TableState[] = [
      { sort: '-last_login_at', limit: 100, cursor: 'abc', prev: ['', 'xyz'], filters: { role: 'r 1&2', auth: 'local' } },
      { sort: 'display_name', limit: 50, cursor: '', prev: [], filters: { q: 'ünïcode / ?#' } },
      { sort: 'username', limit: 25, cursor: 'c', prev: [''], filters: {} },
    ];
    for (const s of states) {
      expect(parseTableState(tableStateToSearch(s, users), users)).toEqual(s);
    }
  });

  it('keeps parameters that are not the table’s and writes a stable order', () => {
    const s = setFilter(parseTableState('', users), 'auth', 'oidc');
    expect(tableStateToSearch(s, users, '?tab=2&sort=-username')).toBe('?tab=2&auth=oidc');
    expect(tableStateToSearch({ ...s, filters: { role: 'b', q: 'a' } }, users)).toBe('?q=a&role=b');
  });

  it('keeps two tables on one page apart with a prefix', () => {
    const a: TableSpec = { ...users, prefix: 'a.' };
    const b: TableSpec = { sorts: ['name'], defaultSort: 'name', filters: ['q'], prefix: 'b.' };
    let url = tableStateToSearch(setFilter(parseTableState('', a), 'q', 'one'), a);
    url = tableStateToSearch(toggleSort(parseTableState(url, b), 'name'), b, url);
    expect(url).toBe('?a.q=one&b.sort=-name');
    expect(parseTableState(url, a).filters).toEqual({ q: 'one' });
    expect(parseTableState(url, b).sort).toBe('-name');
  });
});

describe('transitions', () => {
  const start = parseTableState('?cursor=c2&prev=&prev=c1&role=r1', users);

  it('toggles sort ascending → descending → ascending, back on page one', () => {
    let s = toggleSort(start, 'created_at');
    expect([s.sort, s.cursor, s.prev]).toEqual(['created_at', '', []]);
    expect(sortDirection(s, 'created_at')).toBe('ascending');
    s = toggleSort(s, 'created_at');
    expect(s.sort).toBe('-created_at');
    expect(sortDirection(s, 'created_at')).toBe('descending');
    expect(sortDirection(s, 'username')).toBe('none');
    expect(toggleSort(s, 'created_at').sort).toBe('created_at');
  });

  it('a filter change or a page size change goes back to page one', () => {
    const s = setFilter(start, 'auth', 'local');
    expect(s).toMatchObject({ cursor: '', prev: [], filters: { role: 'r1', auth: 'local' } });
    expect(setFilter(s, 'role', '').filters).toEqual({ auth: 'local' });
    expect(setLimit(start, 100)).toMatchObject({ limit: 100, cursor: '' });
    expect(clearFilters(start).filters).toEqual({});
  });

  it('walks pages forward and back with the cursors', () => {
    let s = parseTableState('', users);
    expect(pageNumber(s)).toBe(1);
    s = nextPage(s, 'c1');
    s = nextPage(s, 'c2');
    expect(s).toMatchObject({ cursor: 'c2', prev: ['', 'c1'] });
    expect(pageNumber(s)).toBe(3);
    expect(apiQuery(s)).toEqual({ sort: 'username', limit: 50, cursor: 'c2' });
    s = prevPage(s);
    expect(s).toMatchObject({ cursor: 'c1', prev: [''] });
    s = prevPage(s);
    expect(s).toMatchObject({ cursor: '', prev: [] });
    expect(prevPage(s)).toBe(s);
  });

  it('a bookmarked later page without its history goes back to the first page', () => {
    const s = parseTableState('cursor=c9', users);
    expect(pageNumber(s)).toBe(2);
    expect(prevPage(s)).toMatchObject({ cursor: '', prev: [] });
  });

  it('sends the API exactly the state', () => {
    expect(apiQuery(start)).toEqual({ role: 'r1', sort: 'username', limit: 50, cursor: 'c2' });
  });
});
