// The scan and result pages' names for the API's shapes, read from the operations that return
// them, and the few formatting rules these pages share.
import { formatCount } from '../../lib/format';
import type { ItemOf, Ok } from '../../api/types';

export type Scan = ItemOf<Ok<'/api/v1/scans', 'get'>>;
export type ScanDetail = Ok<'/api/v1/scans/{id}', 'get'>;
export type Progress = ScanDetail['progress'];
export type JobView = ScanDetail['jobs'][number];
export type Diff = Ok<'/api/v1/scans/{id}/diff', 'get'>;
export type Change = Diff['opened'][number];
export type Vantage = Ok<'/api/v1/scans/{id}/vantage', 'get'>;
export type Observed = ItemOf<Ok<'/api/v1/results', 'get'>>;
export type Timeline = Ok<'/api/v1/results/timeline', 'get'>;
export type PortTimeline = Timeline['ports'][number];
export type Schedule = Ok<'/api/v1/schedules/{id}', 'get'>;
export type Timing = Schedule['timing'];
export type Blackout = Timing['blackouts'][number];
export type Template = ItemOf<Ok<'/api/v1/templates', 'get'>>;
export type TemplateGroup = ItemOf<Ok<'/api/v1/template-groups', 'get'>>;
export type Scanner = ItemOf<Ok<'/api/v1/scanners', 'get'>>;
export type ScannerGroup = ItemOf<Ok<'/api/v1/scanner-groups', 'get'>>;

/** The scope a scan froze at launch (in the detail view only). */
export type FrozenScope = NonNullable<Scan['scope']>;

export function frozenScope(s: Scan): FrozenScope | null {
  return s.scope ?? null;
}

export const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

/** A scan that may still change: its page polls for progress. */
export function isOpen(status: string): boolean {
  return status === 'pending' || status === 'running';
}

export function statusClass(status: string): string {
  switch (status) {
    case 'completed':
    case 'done':
      return 'badge ok';
    case 'failed':
    case 'cancelled':
      return 'badge warn';
    default:
      return 'badge';
  }
}

/** Counts as the API gives them (numbers, or decimal strings for IPv6-sized ones), grouped by thousands. */
export function count(n: number | string | null | undefined): string {
  return formatCount(n);
}

export function pct(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return n >= 100 ? '100%' : n > 0 && n < 0.1 ? '<0.1%' : `${n.toFixed(1)}%`;
}

/** Seconds as "1 h 5 min", "42 s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

/** How long a scan ran (or has run so far). */
export function elapsed(s: { started_at: string | null; finished_at: string | null }, now = Date.now()): string {
  if (!s.started_at) return '—';
  const end = s.finished_at ? new Date(s.finished_at).getTime() : now;
  return duration((end - new Date(s.started_at).getTime()) / 1000);
}

/** An id shortened for a table cell (the title shows it whole). */
export function short(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}
export type OpenPort = ItemOf<Ok<'/api/v1/results/open', 'get'>>;
export type Host = Ok<'/api/v1/results/host', 'get'>;
export type Home = Ok<'/api/v1/home', 'get'>;
