// The exporter's two clocks. Every interval, age, window, cooldown and staleness the exporter
// decides on is measured on the steady clock: epoch milliseconds that never step (the wall clock
// at process start plus monotonic time), so a wall-clock step can neither freeze polling nor make
// old data look fresh nor make a connector look stale for longer than it was. Timestamps shown to
// users go through `toWall`, so they read as the wall clock does now. `delay` is the cancellable wait.

/** Milliseconds since the epoch, as the wall clock read at start plus the monotonic time since. */
export function steadyNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A wall-clock step smaller than this is the two clocks' jitter, not a step. */
const STEP_MS = 1000;

/** A steady timestamp as the wall clock reads it now: moved by any wall-clock step since start. */
export function toWall(steadyMs: number): number {
  const offset = Date.now() - steadyNow();
  return Math.abs(offset) < STEP_MS ? steadyMs : steadyMs + Math.round(offset);
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
