// A schedule's timing in words ("At 02:30, Monday through Friday"), by cronstrue. Imported only
// by the schedules pages, so it loads with them and not on the first page.
import cronstrue from 'cronstrue';

// The descriptors the server's parser accepts besides five fields, and the presets it maps to them.
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * A cron expression (five fields, or a descriptor such as @daily) or a preset (hourly, daily,
 * weekly, monthly) in words; '' when it is not one the server would take (an unparsable
 * expression, six fields, "@every 1h"), so the raw text stands alone.
 */
export function cronWords(expr: string | null | undefined): string {
  let e = (expr ?? '').trim().replace(/\s+/g, ' ');
  if (!e) return '';
  if (/^(hourly|daily|weekly|monthly)$/.test(e)) e = '@' + e;
  if (e.startsWith('@')) e = DESCRIPTORS[e.toLowerCase()] ?? '';
  if (e.split(' ').length !== 5) return '';
  try {
    return cronstrue.toString(e, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
  } catch {
    return '';
  }
}
