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

// One number format everywhere: digits grouped by commas ("65,535", "16,777,216"). Counts past
// 2^48 — only IPv6 scopes reach them — are written as powers of two, which an operator can
// read: "2^64" (one /64), "2^64 + 256", "≈ 2^65.6"; exactCount gives every digit for a title.
const POW2_FROM = 48n;

/** A count (number, bigint or decimal string, as the API sends big ones) in the house format. */
export function formatCount(n: number | bigint | string | null | undefined): string {
  const v = toBig(n);
  if (v === null) return n === null || n === undefined || n === '' ? '—' : String(n);
  if (v < 0n) return '−' + formatCount(-v);
  if (v < 1n << POW2_FROM) return group(v);
  const k = BigInt(v.toString(2).length - 1); // the largest power of two not above v
  const rest = v - (1n << k);
  if (rest === 0n) return `2^${k}`;
  if (rest < 1n << POW2_FROM) return `2^${k} + ${group(rest)}`;
  // log2 to one decimal from the top 53 bits, which a double holds exactly.
  const shift = k > 52n ? k - 52n : 0n;
  const log2 = Math.log2(Number(v >> shift)) + Number(shift);
  return `≈ 2^${log2.toFixed(1)}`;
}

/** Every digit, commas between groups of three: for titles and exports. */
export function exactCount(n: number | bigint | string | null | undefined): string {
  const v = toBig(n);
  return v === null ? String(n ?? '—') : v < 0n ? '−' + group(-v) : group(v);
}

function toBig(n: number | bigint | string | null | undefined): bigint | null {
  if (typeof n === 'bigint') return n;
  if (typeof n === 'number') return Number.isSafeInteger(n) ? BigInt(n) : null;
  if (typeof n === 'string' && /^-?\d+$/.test(n.trim())) return BigInt(n.trim());
  return null;
}

function group(v: bigint): string {
  return v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
