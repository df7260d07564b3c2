import { describe, expect, it } from 'vitest';
import { exactCount, formatCount, formatDate, formatTime, localInputToRFC3339, rfc3339ToLocalInput, timeTitle, utcTime, zoneOffset } from './format';

describe('formatCount', () => {
  it('groups digits by commas, whatever the input type', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(65535)).toBe('65,535');
    expect(formatCount('16777216')).toBe('16,777,216');
    expect(formatCount(10000n)).toBe('10,000');
    expect(formatCount(-1234)).toBe('−1,234');
    // An IPv4 /8 × every port stays exact (below 2^48).
    expect(formatCount('1099494850560')).toBe('1,099,494,850,560');
  });

  it('writes IPv6 sizes as powers of two', () => {
    expect(formatCount('18446744073709551616')).toBe('2^64'); // a /64
    expect(formatCount((1n << 80n).toString())).toBe('2^80'); // a /48
    expect(formatCount('18446744073709551872')).toBe('2^64 + 256'); // a /64 and a /24
    expect(formatCount((3n << 64n).toString())).toBe('≈ 2^65.6'); // three /64s
    expect(formatCount(1n << 48n)).toBe('2^48');
    expect(formatCount((1n << 48n) - 1n)).toBe('281,474,976,710,655');
  });

  it('leaves what is not a count alone', () => {
    expect(formatCount(null)).toBe('—');
    expect(formatCount(undefined)).toBe('—');
    expect(formatCount('')).toBe('—');
    expect(formatCount('n/a')).toBe('n/a');
    expect(formatCount(1.5)).toBe('1.5');
  });
});

describe('exactCount', () => {
  it('gives every digit', () => {
    expect(exactCount('18446744073709551616')).toBe('18,446,744,073,709,551,616');
    expect(exactCount(65535)).toBe('65,535');
  });
});

describe('times', () => {
  const winter = '2026-11-30T17:26:04.123456Z';
  const summer = '2026-07-01T10:00:00Z';

  it('shows a time in the given zone, DST included', () => {
    expect(formatTime(winter, 'UTC')).toBe('2026-11-30 17:26:04');
    expect(formatTime(winter, 'Europe/Berlin')).toBe('2026-11-30 18:26:04');
    expect(formatTime(summer, 'Europe/Berlin')).toBe('2026-07-01 12:00:00');
    expect(formatTime(winter, 'America/New_York')).toBe('2026-11-30 12:26:04');
    expect(formatTime(winter, 'Asia/Kolkata')).toBe('2026-11-30 22:56:04');
    // Past midnight in the zone: the date moves too.
    expect(formatTime('2026-12-31T23:30:00Z', 'Asia/Tokyo')).toBe('2027-01-01 08:30:00');
    expect(formatDate('2026-12-31T23:30:00Z', 'Asia/Tokyo')).toBe('2027-01-01');
    expect(formatTime('2026-11-30T00:05:00Z', 'UTC')).toBe('2026-11-30 00:05:00'); // never "24:05"
  });

  it('leaves what is not a time alone, and falls back to UTC for an unknown zone', () => {
    expect(formatTime(null)).toBe('—');
    expect(formatTime('')).toBe('—');
    expect(formatTime('soon')).toBe('soon');
    expect(formatDate(undefined)).toBe('—');
    expect(formatTime(winter, 'Mars/Olympus')).toBe('2026-11-30 17:26:04');
  });

  it('gives the exact UTC time for titles, with the shown time first when asked', () => {
    expect(utcTime(winter)).toBe('2026-11-30 17:26:04 UTC');
    expect(timeTitle(winter, 'Europe/Berlin')).toBe('2026-11-30 17:26:04 UTC');
    expect(timeTitle(winter, 'Europe/Berlin', true)).toBe('2026-11-30 18:26:04 Europe/Berlin · 2026-11-30 17:26:04 UTC');
    expect(timeTitle(null)).toBe('');
  });

  it('names a zone by its offset at that instant', () => {
    expect(zoneOffset(winter, 'UTC')).toBe('UTC');
    expect(zoneOffset(winter, 'Europe/Berlin')).toBe('UTC+1');
    expect(zoneOffset(summer, 'Europe/Berlin')).toBe('UTC+2');
    expect(zoneOffset(winter, 'America/New_York')).toBe('UTC−5');
    expect(zoneOffset(winter, 'Asia/Kolkata')).toBe('UTC+5:30');
  });

  it('reads a datetime-local input in the zone shown, and back', () => {
    expect(localInputToRFC3339('2026-11-30T18:26', 'Europe/Berlin')).toBe('2026-11-30T17:26:00Z');
    expect(localInputToRFC3339('2026-07-01T12:00:30', 'Europe/Berlin')).toBe('2026-07-01T10:00:30Z');
    expect(localInputToRFC3339('2026-11-30T18:26', 'UTC')).toBe('2026-11-30T18:26:00Z');
    expect(localInputToRFC3339('2026-11-30T12:26', 'America/New_York')).toBe('2026-11-30T17:26:00Z');
    // Either side of Berlin's spring-forward (01:00 UTC, 29 March 2026) and fall-back (01:00 UTC, 25 October).
    expect(localInputToRFC3339('2026-03-29T01:30', 'Europe/Berlin')).toBe('2026-03-29T00:30:00Z');
    expect(localInputToRFC3339('2026-03-29T03:30', 'Europe/Berlin')).toBe('2026-03-29T01:30:00Z');
    expect(localInputToRFC3339('2026-03-29T02:30', 'Europe/Berlin')).toBe('2026-03-29T01:30:00Z'); // skipped: read as 03:30
    expect(localInputToRFC3339('2026-10-25T01:30', 'Europe/Berlin')).toBe('2026-10-24T23:30:00Z');
    expect(localInputToRFC3339('2026-10-25T03:30', 'Europe/Berlin')).toBe('2026-10-25T02:30:00Z');
    expect(localInputToRFC3339('', 'Europe/Berlin')).toBe('');
    expect(localInputToRFC3339('2026-13-01T00:00', 'UTC')).toBe('');
    expect(localInputToRFC3339('yesterday', 'UTC')).toBe('');

    expect(rfc3339ToLocalInput('2026-11-30T17:26:00Z', 'Europe/Berlin')).toBe('2026-11-30T18:26');
    expect(rfc3339ToLocalInput('2026-11-30T17:26:00Z', 'UTC')).toBe('2026-11-30T17:26');
    expect(rfc3339ToLocalInput('', 'UTC')).toBe('');
    expect(rfc3339ToLocalInput('nope', 'UTC')).toBe('');
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'UTC']) {
      expect(localInputToRFC3339(rfc3339ToLocalInput('2026-11-30T17:26:00Z', zone), zone)).toBe('2026-11-30T17:26:00Z');
    }
  });

  it('uses the browser zone when none is given', () => {
    const d = new Date(winter);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    expect(formatTime(winter)).toBe(local);
    expect(localInputToRFC3339(local.replace(' ', 'T'))).toBe('2026-11-30T17:26:04Z');
  });
});
