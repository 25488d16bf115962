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
  return new SlidingWindow(options);
}

class SlidingWindow implements Pacer {
  private readonly now: () => number;
  private readonly budget: number;
  /** Slots are held for the window plus the margin. */
  private readonly windowMs: number;
  private readonly reserved: () => number;
  /** Send times in the window, oldest first (times only grow); `head` skips expired ones cheaply. */
  private sent: number[] = [];
  /** Whether each send was a priority request. */
  private priority: boolean[] = [];
  private head = 0;
  private priorityInWindow = 0;
  private readonly queues: Record<Lane, Waiter[]> = { priority: [], refresh: [] };
  /** When the retries of the window were allowed, oldest first. */
  private retries: number[] = [];
  private readonly maxRetries: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: PacerOptions) {
    this.now = options.now ?? steadyNow;
    this.budget = options.budget;
    this.windowMs = options.windowMs + (options.marginMs ?? 0);
    this.reserved = options.reserved ?? (() => 0);
    this.maxRetries = Math.max(1, Math.floor(options.budget * RETRY_SHARE));
  }

  take(lane: Lane, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const queue = this.queues[lane];
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queues[lane].push(waiter);
      this.pump();
    });
  }

  used(): number {
    this.prune(this.now());
    return this.inWindow();
  }

  waiting(): { priority: number; refresh: number } {
    return { priority: this.queues.priority.length, refresh: this.queues.refresh.length };
  }

  allowRetry(): boolean {
    const t = this.now();
    this.retries = this.retries.filter((at) => at > t - this.windowMs);
    if (this.retries.length >= this.maxRetries) return false;
    this.retries.push(t);
    return true;
  }

  private prune(t: number): void {
    while (this.head < this.sent.length && (this.sent[this.head] as number) <= t - this.windowMs) {
      if (this.priority[this.head]) this.priorityInWindow--;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.sent.length) {
      this.sent = this.sent.slice(this.head);
      this.priority = this.priority.slice(this.head);
      this.head = 0;
    }
  }

  private inWindow(): number {
    return this.sent.length - this.head;
  }

  /**
   * The refresh lane leaves room for the part of the reserved share the priority lane has not
   * used in this window yet; what the priority lane already sent is counted once, as sent.
   */
  private limit(lane: Lane): number {
    const { budget } = this;
    return lane === 'priority' ? budget : Math.max(0, budget - Math.max(0, Math.min(budget, this.reserved()) - this.priorityInWindow));
  }

  private pump(): void {
    const t = this.now();
    this.prune(t);
    for (const lane of ['priority', 'refresh'] as const) {
      const queue = this.queues[lane];
      while (queue.length > 0 && this.inWindow() < this.limit(lane)) {
        const waiter = queue.shift() as Waiter;
        this.sent.push(t);
        this.priority.push(lane === 'priority');
        if (lane === 'priority') this.priorityInWindow++;
        if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
      // A waiting priority request is never overtaken by a refresh.
      if (lane === 'priority' && queue.length > 0) break;
    }
    if (this.timer === undefined && (this.queues.priority.length > 0 || this.queues.refresh.length > 0) && this.head < this.sent.length) {
      const wait = Math.max(1, (this.sent[this.head] as number) + this.windowMs - t);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      this.timer.unref?.();
    }
  }
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
