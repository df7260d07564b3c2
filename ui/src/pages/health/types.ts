import type { Ok } from '../../api/types';

export type Overview = Ok<'/api/v1/health/overview', 'get'>;
/** A node of the overview; `check` is the probe outcome of the dispatcher and backup nodes. */
export type HealthNode = Overview['nodes'][number] & { check?: Record<string, unknown> };
export type ComponentPage = Ok<'/api/v1/health/components/{id}', 'get'>;
export type Point = ComponentPage['series'][string][number];

/** The overview's colours: ok green, stale amber, down red, unknown grey. */
export function nodeClass(status: string): string {
  return status === 'ok' ? 'ok' : status === 'stale' ? 'warn' : status === 'down' ? 'bad' : 'unknown';
}

/** The tiers of the architecture page, top to bottom (ids, or a prefix ending in ':'). */
export const TIERS: { title: string; ids: string[] }[] = [
  { title: 'Edge', ids: ['edge'] },
  { title: 'Services', ids: ['manager', 'ingest:', 'ingest'] },
  { title: 'Orchestration and backup', ids: ['dispatcher', 'backup'] },
  { title: 'Databases', ids: ['database:config', 'database:results', 'database:jobs'] },
  { title: 'Name resolution and certificate', ids: ['dns:public', 'dns:internal', 'tls'] },
];

export function inTier(n: { id: string }, ids: string[]): boolean {
  return ids.some((t) => (t.endsWith(':') ? n.id.startsWith(t) : n.id === t));
}

export function componentPath(id: string): string {
  // A colon is fine in a path segment; the ids (database:jobs, ingest:host:pid) stay readable.
  return '/health/components/' + id;
}
