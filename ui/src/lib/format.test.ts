import { describe, expect, it } from 'vitest';
import { exactCount, formatCount } from './format';

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
