// Runs one poll function on a cron schedule: a first run at start, never two runs at once (a tick
// that finds the previous run still going is skipped and logged), and a clean stop that aborts the
// run in flight and waits for it. node-cron parses the expression and says when its next run is by
// the wall clock; the timer is ours, and never waits longer than the schedule's interval, so a
// wall clock stepped back cannot hold polling (node-cron's own timer waited for the wall clock to
// come round again: 91 s of nothing after a 90 s step) and one stepped forward brings the next run
// nearer, once.
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

/** setTimeout's longest delay (about 24.8 days); a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createScheduledJob(options: JobOptions): ScheduledJob {
  const { name, log } = options;
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let task: ScheduledTask | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
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
      // Never started: only asked when the next run is.
      const schedule = createTask(options.schedule, () => undefined, { name, logger: cronLogger(log) });
      task = schedule;
      const gapMs = scheduleIntervalSeconds(options.schedule) * 1000;
      /** The wall-clock time of the run the timer was last set for, so one time is run once. */
      let armedFor = -Infinity;
      const arm = () => {
        if (stopped) return;
        const runs = schedule.getNextRuns(2).map((d) => d.getTime());
        const next = (runs[0] as number) > armedFor ? (runs[0] as number) : (runs[1] ?? Date.now() + gapMs);
        armedFor = next;
        const delay = Math.min(Math.max(0, next - Date.now()), gapMs, MAX_TIMER_MS);
        timer = setTimeout(() => {
          if (delay === MAX_TIMER_MS && next - Date.now() > 0) armedFor = -Infinity;
          else void tick();
          arm();
        }, delay);
        timer.unref?.();
      };
      arm();
      void tick().then(firstRunDone);
    },
    async stop() {
      stopped = true;
      firstRunDone();
      if (timer) clearTimeout(timer);
      if (task) await task.destroy();
      controller.abort(new Error('exporter stopping'));
      await running;
    },
  };
}
