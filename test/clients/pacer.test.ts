import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPacer } from '../../src/clients/pacer.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('request pacer', () => {
  it('lets a burst through, then paces to the budget', async () => {
    vi.useFakeTimers();
    const pacer = createPacer({ budget: 300, windowMs: 300_000, burst: 2 });
    await pacer.take();
    await pacer.take();
    let third = false;
    void pacer.take().then(() => {
      third = true;
    });
    await vi.advanceTimersByTimeAsync(990);
    expect(third).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(third).toBe(true);
  });

  it('defaults the burst to a tenth of the budget', () => {
    expect(createPacer({ budget: 300, windowMs: 300_000 }).available()).toBe(30);
  });

  it('rejects waiters when stopped', async () => {
    vi.useFakeTimers();
    const pacer = createPacer({ budget: 1, windowMs: 300_000, burst: 1 });
    await pacer.take();
    const controller = new AbortController();
    const waiting = pacer.take(controller.signal);
    controller.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
  });
});
