// Polling for live progress. One call at a time (the next starts `intervalMs` after the last
// one finished, so a slow server is never flooded; a function for `intervalMs` is asked after
// each call, so a page can poll fast while work runs and slowly while nothing does), paused while the document is hidden and
// resumed — at once — when it is shown again; stop() ends it for good (the page was left).
// usePolling (poll.svelte.ts) ties stop() to the component's life.

export interface PollOptions {
  /** Run the first call at once (default) or after one interval. */
  immediate?: boolean;
  /** For tests: the document whose visibility pauses polling. */
  doc?: Pick<Document, 'hidden' | 'addEventListener' | 'removeEventListener'>;
  /** Called with each failure; polling goes on. */
  onError?: (e: unknown) => void;
}

export type Interval = number | (() => number);

export function startPolling(fn: () => unknown | Promise<unknown>, intervalMs: Interval, opts: PollOptions = {}): () => void {
  const interval = typeof intervalMs === 'number' ? () => intervalMs : intervalMs;
  const doc = opts.doc ?? (typeof document === 'undefined' ? undefined : document);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let stopped = false;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = undefined;
    if (!stopped && !doc?.hidden) timer = setTimeout(tick, ms);
  };

  async function tick() {
    timer = undefined;
    if (stopped || running || doc?.hidden) return;
    running = true;
    try {
      await fn();
    } catch (e) {
      opts.onError?.(e);
    } finally {
      running = false;
      schedule(interval());
    }
  }

  const onVisibility = () => {
    if (doc?.hidden) {
      clearTimeout(timer);
      timer = undefined;
    } else if (!running && timer === undefined) {
      void tick();
    }
  };
  doc?.addEventListener('visibilitychange', onVisibility);

  if (opts.immediate === false) schedule(interval());
  else void tick();

  return () => {
    stopped = true;
    clearTimeout(timer);
    doc?.removeEventListener('visibilitychange', onVisibility);
  };
}
