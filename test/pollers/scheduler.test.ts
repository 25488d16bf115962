import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createScheduledJob, scheduleIntervalSeconds } from '../../src/pollers/scheduler.js';

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
});
