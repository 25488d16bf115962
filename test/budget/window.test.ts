import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPacer } from '../../src/budget/window.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Starts `n` takes and records the fake time at which each was granted. */
function takeMany(pacer: ReturnType<typeof createPacer>, n: number, lane: 'priority' | 'refresh' = 'priority') {
  const granted: number[] = [];
  for (let i = 0; i < n; i++) void pacer.take(lane).then(() => granted.push(Date.now()));
  return granted;
}

describe('request budget (sliding window)', () => {
  it('grants the whole budget at once, then never more than the budget in any window', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createPacer({ budget: 300, windowMs: 300_000 });
    const granted = takeMany(pacer, 450);
    await vi.advanceTimersByTimeAsync(0);
    // A fleet that fits the budget gets its first complete picture at once, not at a tenth of it.
    expect(granted).toHaveLength(300);
    await vi.advanceTimersByTimeAsync(299_999);
    expect(granted).toHaveLength(300);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(450);
    // The busiest window anywhere holds at most the budget.
    for (const start of granted) expect(granted.filter((t) => t >= start && t < start + 300_000).length).toBeLessThanOrEqual(300);
    expect(pacer.used()).toBe(150);
  });

  it('reuses a slot only a margin after the window, so arrivals delayed after the grant still fit the budget', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createPacer({ budget: 2, windowMs: 300_000, marginMs: 1000 });
    const granted = takeMany(pacer, 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(2);
    // A request granted at 0 may arrive a little later; its slot is not given again at 300 s.
    await vi.advanceTimersByTimeAsync(300_000);
    expect(granted).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(granted).toEqual([0, 0, 301_000]);
  });

  it('keeps the reserved share for the priority lane, and serves a waiting priority request first', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createPacer({ budget: 10, windowMs: 60_000, reserved: () => 3 });
    const refresh = takeMany(pacer, 10, 'refresh');
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveLength(7);
    const lists = takeMany(pacer, 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(lists).toHaveLength(3);
    // When the window moves on, the waiting list request goes before the waiting refreshes.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lists).toHaveLength(4);
    expect(refresh.length).toBeLessThanOrEqual(10);
    expect(lists[3]).toBeLessThanOrEqual(Math.min(...refresh.slice(7)));
  });

  it('reserves only the part of the priority share not yet used in the window', async () => {
    vi.useFakeTimers({ now: 0 });
    // 4 of 10 per window kept for the lists; the lists have already sent their 4.
    const pacer = createPacer({ budget: 10, windowMs: 60_000, reserved: () => 4 });
    expect(takeMany(pacer, 4)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    const refresh = takeMany(pacer, 10, 'refresh');
    await vi.advanceTimersByTimeAsync(0);
    // The rest of the budget, not the rest minus the share the lists have already spent.
    expect(refresh).toHaveLength(6);
    expect(pacer.used()).toBe(10);
  });

  it('rejects waiters when stopped', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createPacer({ budget: 1, windowMs: 300_000 });
    await pacer.take('priority');
    const controller = new AbortController();
    const waiting = pacer.take('priority', controller.signal);
    controller.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    // The aborted waiter does not hold a slot: the next window serves the next one.
    const next = takeMany(pacer, 1);
    await vi.advanceTimersByTimeAsync(300_000);
    expect(next).toHaveLength(1);
  });
});
