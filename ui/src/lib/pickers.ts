// Where an ObjectPicker finds its options: one page at a time from a list API, searched on the
// server when the list takes a name filter (q), and one object by id for an id in the URL.
import { api, call } from '../api/client';
import type { Page } from '../api/types';
import { formatTime } from './format';
import { session } from './session.svelte';

export type PickerItem = { id: string; label: string; hint?: string };

export interface PickerSource {
  /** What is picked, for the empty state ("scanners"). */
  noun: string;
  /** One page of options matching q (empty: all), after cursor. */
  page(q: string, cursor?: string): Promise<{ items: PickerItem[]; next?: string }>;
  /** The label of one id, or undefined when it cannot be read (deleted, not allowed). */
  label(id: string): Promise<string | undefined>;
}

const PAGE = 50;

// One loosely typed GET for every list: the paths differ only in their item type.
type Loose = (path: string, init: { params: { query?: Record<string, unknown>; path?: Record<string, string> } }) => Promise<{ data?: unknown; response: Response }>;
const get = api.GET as unknown as Loose;

async function listPage<T>(path: string, query: Record<string, unknown>, cursor?: string): Promise<Page<T>> {
  return (await call(get(path, { params: { query: { ...query, limit: PAGE, cursor } } }))) as Page<T>;
}

async function one<T>(path: string, id: string): Promise<T | undefined> {
  try {
    return (await call(get(path, { params: { path: { id } } }))) as T;
  } catch {
    return undefined;
  }
}

/** Objects with a name and a list API that searches names (q). */
function named(noun: string, list: string, item: string, scope: string): PickerSource {
  return {
    noun,
    async page(q, cursor) {
      if (!session.can(scope)) return { items: [] };
      const p = await listPage<{ id: string; name: string }>(list, { sort: 'name', q: q || undefined }, cursor);
      return { items: p.items.map((o) => ({ id: o.id, label: o.name })), next: p.next_cursor || undefined };
    },
    async label(id) {
      return (await one<{ name: string }>(item, id))?.name;
    },
  };
}

export const scanners = named('scanners', '/api/v1/scanners', '/api/v1/scanners/{id}', 'scanners:view');
export const scannerGroups = named('scanner groups', '/api/v1/scanner-groups', '/api/v1/scanner-groups/{id}', 'scanners:view');
export const templates = named('templates', '/api/v1/templates', '/api/v1/templates/{id}', 'templates:view');
export const subnetGroups = named('subnet groups', '/api/v1/subnet-groups', '/api/v1/subnet-groups/{id}', 'targets:view');

/** Scanners and scanner groups in one list (a template names either): scanners first. */
export const scannersOrGroups: PickerSource = {
  noun: 'scanners or scanner groups',
  async page(q, cursor) {
    const [which, inner] = cursor ? [cursor.slice(0, 1), cursor.slice(2) || undefined] : ['s', undefined];
    const src = which === 's' ? scanners : scannerGroups;
    const p = await src.page(q, inner);
    const items = p.items.map((o) => ({ ...o, hint: which === 's' ? 'scanner' : 'scanner group' }));
    const next = p.next ? which + ':' + p.next : which === 's' ? 'g:' : undefined;
    return { items, next };
  },
  async label(id) {
    return (await scanners.label(id)) ?? (await scannerGroups.label(id));
  },
};

type ScanRow = { id: string; template_name: string; created_at: string; status: string };
const scanLabel = (s: ScanRow) => `${s.template_name} · ${formatTime(s.created_at)}`;

/** Scans, newest first, by template name and launch time. The scans list has no name search:
 *  a search keeps what matches of each page as it is read. */
export const scans: PickerSource = {
  noun: 'scans',
  async page(q, cursor) {
    if (!session.can('scans:view')) return { items: [] };
    const p = await listPage<ScanRow>('/api/v1/scans', {}, cursor);
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    const items = p.items
      .map((s) => ({ id: s.id, label: scanLabel(s), hint: s.status }))
      .filter((o) => words.every((w) => o.label.toLowerCase().includes(w)));
    return { items, next: p.next_cursor || undefined };
  },
  async label(id) {
    const d = await one<{ scan: ScanRow }>('/api/v1/scans/{id}', id);
    return d && scanLabel(d.scan);
  },
};

export const subnets = named('subnets', '/api/v1/subnets', '/api/v1/subnets/{id}', 'targets:view');
export const templateGroups = named('template groups', '/api/v1/template-groups', '/api/v1/template-groups/{id}', 'templates:view');

/** The picker for an audit record's resource id, by its resource type; undefined for types
 *  without a list to pick from (their id is typed). */
export function sourceForResource(type: string): PickerSource | undefined {
  const sources: Record<string, PickerSource> = {
    scanner: scanners,
    scanner_group: scannerGroups,
    template: templates,
    template_group: templateGroups,
    subnet: subnets,
    subnet_group: subnetGroups,
    scan: scans,
  };
  return Object.hasOwn(sources, type) ? sources[type] : undefined;
}
