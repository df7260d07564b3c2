// Times are shown in the browser's time zone (a schedule's runs in the schedule's own zone), each
// with its exact UTC time on hover — through formatTime here and the <Time> component — so what
// an operator reads is their own clock, and what they compare with the audit log, exports and
// other operators' screens is one hover away. Inputs that take a time read it in the same zone.

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu', 'GMT', 'Etc/GMT', 'Etc/GMT0', 'Etc/GMT+0', 'Etc/GMT-0', 'GMT0', 'Greenwich', 'Etc/Greenwich']);

/** The browser's IANA time zone ("Europe/Berlin"); the many aliases of UTC are all "UTC". */
export function localZone(): string {
  let z = '';
  try {
    z = Intl.DateTimeFormat().resolvedOptions().timeZone ?? '';
  } catch {
    // An engine without time zone data: UTC is all it knows.
  }
  return !z || UTC_NAMES.has(z) ? 'UTC' : z;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string | undefined, offset = false): Intl.DateTimeFormat {
  const key = `${zone ?? ''}|${offset}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      ...(offset ? { timeZoneName: 'longOffset' as const } : {}),
    });
    formatters.set(key, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock at instant d in zone (the browser's when undefined). Throws on an unknown zone. */
function wall(d: Date, zone?: string): Wall {
  const w: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(d)) if (p.type !== 'literal') w[p.type] = Number(p.value);
  return { year: w.year, month: w.month, day: w.day, hour: w.hour % 24, minute: w.minute, second: w.second };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const wallString = (w: Wall) => `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * "2026-11-30 18:26:04": the time in zone (an IANA name; the browser's own when omitted), without
 * the zone, which the page says once (see zoneOffset and localZone). Unknown zones fall back to UTC.
 */
export function formatTime(iso: string | null | undefined, zone?: string): string {
  if (!iso) return '—';
  const d = parse(iso);
  if (!d) return iso;
  try {
    return wallString(wall(d, zone));
  } catch {
    return utcTime(iso).replace(/ UTC$/, '');
  }
}

/** "2026-11-30": the date in zone (the browser's own when omitted). */
export function formatDate(iso: string | null | undefined, zone?: string): string {
  return iso ? formatTime(iso, zone).slice(0, 10) : '—';
}

/** "2026-11-30 17:26:04 UTC": the exact time in UTC, for titles. */
export function utcTime(iso: string | null | undefined): string {
  const d = parse(iso);
  if (!d) return iso || '';
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** "UTC+1", "UTC−5", "UTC+5:30", "UTC": zone's offset from UTC at that instant (DST included). */
export function zoneOffset(iso: string | Date, zone?: string): string {
  const d = typeof iso === 'string' ? parse(iso) : iso;
  if (!d) return '';
  let name = 'GMT';
  try {
    name = formatter(zone, true).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  } catch {
    // unknown zone: UTC, like formatTime
  }
  const m = /^GMT([+-])(\d\d):(\d\d)$/.exec(name);
  if (!m || (m[2] === '00' && m[3] === '00')) return 'UTC';
  const h = String(Number(m[2]));
  return `UTC${m[1] === '-' ? '−' : '+'}${m[3] === '00' ? h : `${h}:${m[3]}`}`;
}

/** What a time's title says: the exact UTC time, after the shown one when it is relative or in another zone. */
export function timeTitle(iso: string | null | undefined, zone?: string, withLocal = false): string {
  if (!parse(iso)) return '';
  const shown = withLocal ? `${formatTime(iso, zone)} ${zone ?? localZone()} · ` : '';
  return shown + utcTime(iso);
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

/**
 * A datetime-local input's value ("2026-11-30T18:26", seconds optional), read as a wall clock in
 * zone (the browser's own when omitted, as every time is shown), → RFC 3339 in UTC; '' when not a
 * time.
 */
export function localInputToRFC3339(v: string, zone?: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?$/.exec(v ?? '');
  if (!m) return '';
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x ?? 0));
  const asUTC = Date.UTC(year, month - 1, day, hour, minute, second);
  if (Number.isNaN(asUTC) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return '';
  // The zone's offset at a guess, then at the instant that gives (they differ across a DST change).
  let t = asUTC;
  try {
    const offsetAt = (ms: number) => {
      const w = wall(new Date(ms), zone);
      return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
    };
    const before = offsetAt(asUTC);
    t = asUTC - before;
    const after = offsetAt(t);
    // Near a change the offset at the corrected instant is the right one; in a clock skipped by the
    // change, that is the offset from before it (so 02:30 on a spring-forward night is 03:30), as browsers do.
    if (after !== before) t = asUTC - after;
  } catch {
    t = asUTC; // unknown zone: UTC, like formatTime
  }
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.000Z$/, 'Z');
}

/** An RFC 3339 time as a datetime-local input's value in zone (the browser's own when omitted): "2026-11-30T18:26". */
export function rfc3339ToLocalInput(v: string | undefined, zone?: string): string {
  if (!parse(v)) return '';
  return formatTime(v, zone).replace(' ', 'T').slice(0, 16);
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
