import { afterEach, describe, expect, it, vi } from 'vitest';
import { steadyNow, toWall } from '../src/clock.js';

describe('the steady clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does not follow a wall-clock step; a timestamp shown to users does', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const before = steadyNow();
    expect(toWall(before)).toBe(before);
    vi.setSystemTime(Date.now() - 3_600_000);
    const after = steadyNow();
    expect(after - before).toBeGreaterThanOrEqual(0);
    expect(after - before).toBeLessThan(1000);
    // Shown now, the earlier moment reads an hour earlier, as the wall clock does.
    expect(toWall(before) - before).toBeGreaterThan(-3_601_000);
    expect(toWall(before) - before).toBeLessThan(-3_599_000);
  });
});
