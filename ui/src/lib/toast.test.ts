import { describe, expect, it, vi } from 'vitest';
import { MAX_TOASTS, Toasts } from './toast.svelte';

describe('toasts', () => {
  it('shows at most three, keeping the newest', () => {
    vi.useFakeTimers();
    const t = new Toasts();
    for (let i = 1; i <= 5; i++) t.info(`message ${i}`);
    expect(MAX_TOASTS).toBe(3);
    expect(t.items.map((x) => x.text)).toEqual(['message 3', 'message 4', 'message 5']);
    // The dropped ones' timers do nothing; the shown ones still leave on time.
    vi.advanceTimersByTime(5000);
    expect(t.items).toEqual([]);
    vi.useRealTimers();
  });

  it('lets a dismissed one go and keeps the rest in order', () => {
    const t = new Toasts();
    const a = t.push('success', 'a', 0);
    t.push('error', 'b', 0);
    t.dismiss(a);
    t.push('info', 'c', 0);
    expect(t.items.map((x) => `${x.kind}:${x.text}`)).toEqual(['error:b', 'info:c']);
  });
});
