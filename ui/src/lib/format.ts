// Times are shown in UTC, as the API gives them, so what an operator reads matches the audit
// log, exports and other operators' screens.

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? formatTime(iso).slice(0, 10) : '—';
}

/** "in 3 days", "2 hours ago": for expiry and last-used columns (title shows the exact time). */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  const units: [number, string][] = [
    [86400000, 'day'],
    [3600000, 'hour'],
    [60000, 'minute'],
  ];
  for (const [ms, name] of units) {
    if (abs >= ms) {
      const n = Math.round(abs / ms);
      const s = `${n} ${name}${n === 1 ? '' : 's'}`;
      return diff < 0 ? `${s} ago` : `in ${s}`;
    }
  }
  return diff < 0 ? 'just now' : 'in under a minute';
}

/** A datetime-local input's value read as UTC → RFC 3339, and back. */
export function localInputToRFC3339(v: string): string {
  if (!v) return '';
  const d = new Date(v + (v.length === 16 ? ':00Z' : 'Z'));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.000Z$/, 'Z');
}

export function rfc3339ToLocalInput(v: string | undefined): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16);
}

/** Any JSON value as a short readable string, for diffs and details. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
