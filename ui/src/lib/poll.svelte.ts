import { startPolling, type Interval, type PollOptions } from './poll';

/**
 * Polls while the calling component is mounted and the document is visible:
 *
 *     usePolling(() => refreshProgress(), 2000);
 *
 * Call it during component initialisation. Leaving the page stops it.
 */
export function usePolling(fn: () => unknown | Promise<unknown>, intervalMs: Interval, opts: PollOptions = {}) {
  $effect(() => startPolling(fn, intervalMs, opts));
}
