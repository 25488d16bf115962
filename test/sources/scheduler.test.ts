import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createScheduledJob, scheduleIntervalSeconds } from '../../src/sources/scheduler.js';

const YEARLY = '0 0 0 1 1 *';

describe('scheduled job', () => {
  it('reads the interval from a cron expression', () => {
    expect(scheduleIntervalSeconds('*/30 * * * * *')).toBe(30);
    expect(scheduleIntervalSeconds('0 */5 * * * *')).toBe(300);
    expect(scheduleIntervalSeconds('0 * * * * *')).toBe(60);
  });

  it('polls once at start, never twice at once, and stops by aborting the poll in flight', async () => {
    let runs = 0;
    let release!: () => void;
    let aborted = false;
    const job = createScheduledJob({
      name: 'test',
      schedule: YEARLY,
      log: silentLogger(),
      run: (signal) =>
        new Promise<void>((resolve) => {
          runs++;
          release = resolve;
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        }),
    });
    job.start();
    expect(runs).toBe(1);
    const overlapping = job.tick();
    expect(runs).toBe(1);
    const stopping = job.stop();
    await Promise.all([overlapping, stopping, job.firstRun]);
    expect(aborted).toBe(true);
    await job.tick();
    expect(runs).toBe(1);
    void release;
  });

  it('runs again after the previous run finished, and survives a crashing run', async () => {
    let runs = 0;
    const job = createScheduledJob({
      name: 'test',
      schedule: YEARLY,
      log: silentLogger(),
      run: async () => {
        runs++;
        throw new Error('bug');
      },
    });
    await job.tick();
    await job.tick();
    expect(runs).toBe(2);
    await job.stop();
  });

  describe('when the wall clock steps', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    /** A job every 10 s on fake timers; returns the run times (fake steady ms from the start). */
    const everyTenSeconds = () => {
      vi.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00Z') });
      const started = performance.now();
      const runs: number[] = [];
      const job = createScheduledJob({
        name: 'test',
        schedule: '*/10 * * * * *',
        log: silentLogger(),
        run: async () => {
          runs.push(Math.round(performance.now() - started));
        },
      });
      job.start();
      return { job, runs };
    };

    it('a step back of an hour does not hold polling: the next run comes within one interval', async () => {
      const { job, runs } = everyTenSeconds();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(runs).toEqual([0, 10_000]);
      vi.setSystemTime(Date.now() - 3_600_000);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(runs.length).toBeGreaterThanOrEqual(4);
      expect(runs.every((t, i) => i === 0 || t - (runs[i - 1] as number) <= 10_000)).toBe(true);
      await job.stop();
    });

    it('a step back of 90 s does not hold polling either, and a step forward runs no more than once per tick', async () => {
      const { job, runs } = everyTenSeconds();
      await vi.advanceTimersByTimeAsync(10_000);
      vi.setSystemTime(Date.now() - 90_000);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(runs.length).toBeGreaterThanOrEqual(4);
      const before = runs.length;
      vi.setSystemTime(Date.now() + 1_200_000);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(runs.length - before).toBeGreaterThanOrEqual(1);
      expect(runs.length - before).toBeLessThanOrEqual(2);
      await job.stop();
    });
  });
});
