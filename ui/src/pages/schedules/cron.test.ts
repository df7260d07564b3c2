import { describe, expect, it } from 'vitest';
import { cronWords } from './cron';

describe('cronWords', () => {
  it('puts five-field expressions in words, on a 24-hour clock', () => {
    expect(cronWords('30 2 * * 1-5')).toBe('At 02:30, Monday through Friday');
    expect(cronWords('0 3 1 1 *')).toBe('At 03:00, on day 1 of the month, only in January');
    expect(cronWords('  */15   9-17 * * MON-FRI ')).toBe('Every 15 minutes, between 09:00 and 17:59, Monday through Friday');
  });

  it('describes presets and descriptors as the server reads them', () => {
    expect(cronWords('hourly')).toBe('Every hour');
    expect(cronWords('daily')).toBe('At 00:00');
    expect(cronWords('weekly')).toBe('At 00:00, only on Sunday');
    expect(cronWords('monthly')).toBe('At 00:00, on day 1 of the month');
    expect(cronWords('@midnight')).toBe('At 00:00');
  });

  it('says nothing of what the server would refuse or cannot be put in words', () => {
    expect(cronWords('61 3 1 1 *')).toBe('');
    expect(cronWords('0 30 2 * * 1-5')).toBe(''); // six fields: the server takes five
    expect(cronWords('@every 1h')).toBe('');
    expect(cronWords('nonsense')).toBe('');
    expect(cronWords('')).toBe('');
    expect(cronWords(undefined)).toBe('');
  });
});
