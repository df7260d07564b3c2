import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPolling } from './poll';

class FakeDoc extends EventTarget {
  hidden = false;
  setHidden(h: boolean) {
    this.hidden = h;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

describe('startPolling', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('calls at once, then every interval after each call finishes, until stopped', async () => {
    const doc = new FakeDoc();
    const fn = vi.fn(async () => {});
    const stop = startPolling(fn, 1000, { doc });
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(fn).toHaveBeenCalledTimes(4);
    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('asks a function for the interval after each call', async () => {
    const doc = new FakeDoc();
    let busy = true;
    const fn = vi.fn(async () => {});
    const stop = startPolling(fn, () => (busy ? 1000 : 10_000), { doc });
    await vi.advanceTimersByTimeAsync(3000);
    expect(fn).toHaveBeenCalledTimes(4);
    busy = false;
    await vi.advanceTimersByTimeAsync(1000); // the interval chosen while busy
    expect(fn).toHaveBeenCalledTimes(5);
    await vi.advanceTimersByTimeAsync(9000);
    expect(fn).toHaveBeenCalledTimes(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fn).toHaveBeenCalledTimes(6);
    stop();
  });

  it('never overlaps a slow call', async () => {
    const doc = new FakeDoc();
    let inFlight = 0;
    let most = 0;
    const fn = vi.fn(() => {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise<void>((r) => setTimeout(() => { inFlight--; r(); }, 2500));
    });
    const stop = startPolling(fn, 1000, { doc });
    await vi.advanceTimersByTimeAsync(10000);
    stop();
    expect(most).toBe(1);
    expect(fn).toHaveBeenCalledTimes(3); // t=0, 3500, 7000
  });

  it('pauses while the document is hidden and resumes at once when shown', async () => {
    const doc = new FakeDoc();
    const fn = vi.fn();
    const stop = startPolling(fn, 1000, { doc });
    doc.setHidden(true);
    await vi.advanceTimersByTimeAsync(10000);
    expect(fn).toHaveBeenCalledTimes(1);
    doc.setHidden(false);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fn).toHaveBeenCalledTimes(3);
    stop();
    doc.setHidden(true);
    doc.setHidden(false);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('keeps polling after a failure and reports it', async () => {
    const doc = new FakeDoc();
    const errors: unknown[] = [];
    const fn = vi.fn(async () => { throw new Error('boom'); });
    const stop = startPolling(fn, 500, { doc, onError: (e) => errors.push(e) });
    await vi.advanceTimersByTimeAsync(1000);
    stop();
    expect(fn).toHaveBeenCalledTimes(3);
    expect(errors).toHaveLength(3);
  });
});
