// The request budget: at most `budget` requests in any window of `windowMs` (Cloudflare: requests
// per 5 minutes), as a sliding window, so the budget means what it says and a fleet that fits it
// gets its first complete picture at once. Two lanes: `priority` (tunnel lists, Gateway, the
// re-reads and writes of remediation) may use the whole budget and is served first; `refresh` (the
// continuous connections refresh) may use what is left after the share `reserved()` keeps for
// the priority lane, less what that lane has already sent in the window. Waiters are served in
// order within a lane; a stop signal rejects them at once.
import { delay, steadyNow } from '../clock.js';

export type Lane = 'priority' | 'refresh';

export interface PacerOptions {
  /** Requests allowed per window. */
  budget: number;
  windowMs: number;
  /**
   * A slot is given again only this long after its window ended. The budget is counted when a
   * slot is granted, the API counts arrivals, and a request arrives a little after its grant (the
   * event loop, the connection): without a margin, a window measured at the API could hold one or
   * two more than the budget.
   */
  marginMs?: number;
  /** Slots per window the refresh lane leaves to the priority lane (read at every decision). */
  reserved?: () => number;
  now?: () => number;
}

export interface Pacer {
  /** Resolves when a request in `lane` may be sent; counts it. */
  take(lane: Lane, signal?: AbortSignal): Promise<void>;
  /** Requests sent in the current window (its margin included). */
  used(): number;
  /** Requests waiting for a slot, per lane. */
  waiting(): Record<Lane, number>;
  /**
   * Whether one more retry may be sent in this window, and if so counts it: retries take at most
   * RETRY_SHARE of the budget, so an error storm's retries cannot spend the slots the next poll
   * needs once the API heals (with budget 100 they did: nothing went out for 45 s after it did).
   */
  allowRetry(): boolean;
}

/** The share of the budget that retries may take in any window. */
const RETRY_SHARE = 0.1;

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export function createPacer(options: PacerOptions): Pacer {
  const now = options.now ?? steadyNow;
  const { budget } = options;
  // Slots are held for the window plus the margin.
  const windowMs = options.windowMs + (options.marginMs ?? 0);
  const reserved = options.reserved ?? (() => 0);
  // Send times in the window, oldest first (times only grow), and whether each was a priority
  // request. `head` skips expired ones cheaply.
  let sent: number[] = [];
  let priority: boolean[] = [];
  let head = 0;
  let priorityInWindow = 0;
  const queues: Record<Lane, Waiter[]> = { priority: [], refresh: [] };
  /** When the retries of the window were allowed, oldest first. */
  let retries: number[] = [];
  const maxRetries = Math.max(1, Math.floor(budget * RETRY_SHARE));
  let timer: ReturnType<typeof setTimeout> | undefined;

  const prune = (t: number) => {
    while (head < sent.length && (sent[head] as number) <= t - windowMs) {
      if (priority[head]) priorityInWindow--;
      head++;
    }
    if (head > 1024 && head * 2 > sent.length) {
      sent = sent.slice(head);
      priority = priority.slice(head);
      head = 0;
    }
  };
  const inWindow = () => sent.length - head;
  // The refresh lane leaves room for the part of the reserved share the priority lane has not
  // used in this window yet; what the priority lane already sent is counted once, as sent.
  const limit = (lane: Lane) => (lane === 'priority' ? budget : Math.max(0, budget - Math.max(0, Math.min(budget, reserved()) - priorityInWindow)));

  const pump = () => {
    const t = now();
    prune(t);
    for (const lane of ['priority', 'refresh'] as const) {
      const queue = queues[lane];
      while (queue.length > 0 && inWindow() < limit(lane)) {
        const waiter = queue.shift() as Waiter;
        sent.push(t);
        priority.push(lane === 'priority');
        if (lane === 'priority') priorityInWindow++;
        if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
      // A waiting priority request is never overtaken by a refresh.
      if (lane === 'priority' && queue.length > 0) break;
    }
    if (timer === undefined && (queues.priority.length > 0 || queues.refresh.length > 0) && head < sent.length) {
      const wait = Math.max(1, (sent[head] as number) + windowMs - t);
      timer = setTimeout(() => {
        timer = undefined;
        pump();
      }, wait);
      timer.unref?.();
    }
  };

  return {
    take(lane, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const waiter: Waiter = { resolve, reject, signal };
        if (signal) {
          waiter.onAbort = () => {
            const queue = queues[lane];
            const i = queue.indexOf(waiter);
            if (i >= 0) queue.splice(i, 1);
            reject(signal.reason);
          };
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        queues[lane].push(waiter);
        pump();
      });
    },
    used() {
      prune(now());
      return inWindow();
    },
    waiting: () => ({ priority: queues.priority.length, refresh: queues.refresh.length }),
    allowRetry() {
      const t = now();
      retries = retries.filter((at) => at > t - windowMs);
      if (retries.length >= maxRetries) return false;
      retries.push(t);
      return true;
    },
  };
}

/** The connections refresh's pace: reads per second, and how many may go at once. */
export interface Pace {
  perSecond: number;
  burst: number;
}

/**
 * A token bucket at `pace()` (read at every take): the refresh spreads its reads evenly instead of
 * spending the whole window at once. Full at first, so a fleet that fits gets its first complete
 * picture at once.
 */
export function createTokenBucket(pace: () => Pace, now: () => number = steadyNow): { take(signal: AbortSignal): Promise<void>; refund(): void } {
  let tokens = 0;
  let tokensAt = now();
  let primed = false;
  return {
    async take(signal) {
      for (;;) {
        const { perSecond, burst } = pace();
        const t = now();
        if (!primed) {
          tokens = burst;
          primed = true;
        }
        tokens = Math.min(Math.max(1, burst), tokens + ((t - tokensAt) / 1000) * perSecond);
        tokensAt = t;
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        const wait = perSecond > 0 ? Math.ceil(((1 - tokens) / perSecond) * 1000) : 1000;
        await delay(Math.min(wait, 60_000), signal);
      }
    },
    /** Gives back a slot taken for a read that did not happen. */
    refund() {
      tokens += 1;
    },
  };
}
