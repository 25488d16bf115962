// A token bucket that paces requests to a budget per window (Cloudflare: requests per 5 minutes).
// Waiters are served in order; a stop signal rejects them at once.

export interface PacerOptions {
  /** Requests allowed per window. */
  budget: number;
  windowMs: number;
  /** Requests that may go out back to back after a quiet spell. */
  burst?: number;
  now?: () => number;
}

export interface Pacer {
  /** Resolves when a request may be sent. */
  take(signal?: AbortSignal): Promise<void>;
  /** Requests that could go out right now without waiting. */
  available(): number;
}

export function createPacer(options: PacerOptions): Pacer {
  const now = options.now ?? Date.now;
  const ratePerMs = options.budget / options.windowMs;
  const capacity = Math.max(1, options.burst ?? Math.min(options.budget, Math.ceil(options.budget / 10)));
  let tokens = capacity;
  let updatedAt = now();
  let queue: Promise<void> = Promise.resolve();

  const refill = () => {
    const t = now();
    tokens = Math.min(capacity, tokens + (t - updatedAt) * ratePerMs);
    updatedAt = t;
  };

  const takeOne = async (signal?: AbortSignal) => {
    for (;;) {
      signal?.throwIfAborted();
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await delay(Math.ceil((1 - tokens) / ratePerMs), signal);
    }
  };

  return {
    take(signal) {
      const turn = queue.then(() => takeOne(signal));
      // The next waiter goes after this one whatever happens to it.
      queue = turn.catch(() => undefined);
      return turn;
    },
    available() {
      refill();
      return Math.floor(tokens);
    },
  };
}

/** setTimeout as a promise that an AbortSignal cancels. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
