// Runs one poll function on a node-cron schedule: a first run at start, never two runs at once
// (a tick that finds the previous run still going is skipped and logged), and a clean stop that
// aborts the run in flight and waits for it.
import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';

export interface ScheduledJob {
  readonly name: string;
  start(): void;
  /** Runs now unless a run is in flight; resolves when this (or the in-flight) run ends. */
  tick(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when the first run (started by start()) has finished, whatever its outcome. */
  readonly firstRun: Promise<void>;
}

export interface JobOptions {
  name: string;
  schedule: string;
  run: (signal: AbortSignal) => Promise<void>;
  log: Logger;
}

/** node-cron's messages (e.g. a missed tick under load) as our JSON log lines, not bare console output. */
function cronLogger(log: Logger) {
  const text = (m: string | Error) => (typeof m === 'string' ? m : m.message);
  return {
    info: (m: string) => log.debug({ source: 'node-cron' }, m),
    debug: (m: string | Error) => log.debug({ source: 'node-cron' }, text(m)),
    warn: (m: string) => log.warn({ source: 'node-cron' }, m),
    error: (m: string | Error, err?: Error) => log.error({ source: 'node-cron', err: err?.message }, text(m)),
  };
}

/** The longest gap between the next few runs of a cron expression, in seconds. */
export function scheduleIntervalSeconds(schedule: string): number {
  const task = createTask(schedule, () => undefined);
  try {
    const runs = task.getNextRuns(6).map((d) => d.getTime());
    let longest = 0;
    for (let i = 1; i < runs.length; i++) longest = Math.max(longest, (runs[i] as number) - (runs[i - 1] as number));
    return Math.max(1, Math.round(longest / 1000));
  } finally {
    void task.destroy();
  }
}

export function createScheduledJob(options: JobOptions): ScheduledJob {
  const { name, log } = options;
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let task: ScheduledTask | undefined;
  let stopped = false;
  let lastSkipWarning = -Infinity;
  let firstRunDone!: () => void;
  const firstRun = new Promise<void>((resolve) => {
    firstRunDone = resolve;
  });

  const tick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      // Once per 10 minutes at warn: a schedule tighter than the API budget allows skips every round.
      const t = Date.now();
      const level = t - lastSkipWarning > 600_000 ? 'warn' : 'debug';
      if (level === 'warn') lastSkipWarning = t;
      log[level]({ job: name }, 'previous poll still running (schedule tighter than the API budget or a slow API): skipping this round');
      return running;
    }
    running = options
      .run(controller.signal)
      .catch((err: unknown) => {
        // Pollers record their own failures; anything reaching here is a bug, and it must not kill the daemon.
        log.error({ job: name, err }, 'poll crashed');
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    name,
    firstRun,
    tick,
    start() {
      task = createTask(options.schedule, () => void tick(), { name, noOverlap: false, logger: cronLogger(log) });
      void task.start();
      void tick().then(firstRunDone);
    },
    async stop() {
      stopped = true;
      firstRunDone();
      if (task) await task.destroy();
      controller.abort(new Error('exporter stopping'));
      await running;
    },
  };
}
