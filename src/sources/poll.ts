// What every poller does around its API calls: time the poll, record success or failure in the
// store, and log a failure once (repeats of the same error go to debug until it changes or clears).

import { steadyNow } from '../clock.js';
import type { Logger } from '../log.js';
import type { CollectorData, CollectorName, PerTunnelCollector, PollOutcome, SnapshotStore } from '../snapshot/store.js';
import { ApiAbortedError, ApiAuthError } from '../transport/errors.js';
import { type Cuts, noCuts, type OnCut, reportCuts } from './answer.js';

export interface PollReporter {
  /** Starts timing; the returned function builds the outcome. */
  begin(): (ok: boolean, err?: unknown) => PollOutcome;
  /** Logs a failure unless it repeats the previous one for this collector and scope. */
  failed(collector: CollectorName, scope: string, err: unknown): void;
  succeeded(collector: CollectorName, scope: string): void;
  /** Counts what one answer had cut to the limits of ./answer.ts. */
  cut(cuts: Cuts): void;
}

export function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || err instanceof ApiAbortedError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createPollReporter(log: Logger, now: () => number = steadyNow, onCut?: OnCut): PollReporter {
  const lastError = new Map<string, string>();
  return {
    begin() {
      const started = performance.now();
      return (ok, err) => ({
        ok,
        at: now(),
        durationSeconds: (performance.now() - started) / 1000,
        error: err === undefined ? undefined : errorMessage(err),
      });
    },
    failed(collector, scope, err) {
      const key = `${collector}/${scope}`;
      const message = errorMessage(err);
      if (lastError.get(key) === message) {
        log.debug({ collector, scope, err: message }, 'poll failed again');
        return;
      }
      lastError.set(key, message);
      log.error({ collector, scope, err: message }, 'poll failed: keeping the previous data until it is too old');
    },
    cut: (cuts) => reportCuts(cuts, onCut),
    succeeded(collector, scope) {
      const key = `${collector}/${scope}`;
      if (lastError.delete(key)) log.info({ collector, scope }, 'poll recovered');
    },
  };
}

/** The sources that are one list walk per scope: Gateway proxy endpoints and routes per account, PostHog proxy records per organization. (Tunnels need two stages: ./tunnels/.) */
type SingleCallCollector = Exclude<CollectorName, 'tunnels' | PerTunnelCollector>;

interface SourcePollerOptions<C extends SingleCallCollector> {
  collector: C;
  scope: string;
  store: SnapshotStore;
  reporter: PollReporter;
  /** One answer, normalized; what it cut goes into `cuts`, which the poller reports. */
  fetch: (signal: AbortSignal, cuts: Cuts) => Promise<CollectorData[C]>;
  /**
   * An optional source: when the credential lacks its permission, say so once, mark it skipped and
   * send nothing more for PERMISSION_RECHECK_MS (the other sources go on). Needs `now`.
   */
  skipWithoutPermission?: boolean;
  now?: () => number;
  log?: Logger;
}

/** How long an optional source whose permission is missing waits before it asks again (a token can be given the permission). */
export const PERMISSION_RECHECK_MS = 3_600_000;

/**
 * An optional source the credential may not read in this scope: recorded as skipped (its skip
 * metric), and said once at warn with the permission it needs (again at debug, each hour it asks).
 */
export function recordSkipped(
  o: { store: SnapshotStore; log: Logger | undefined; collector: CollectorName; scope: string; err: ApiAuthError; first: boolean },
  outcome: PollOutcome,
): void {
  const { collector, scope, err } = o;
  o.store.recordFailure(collector, scope, { ...outcome, skipped: 'permission' });
  const line = { collector, scope, permission: err.permission, recheck_in: '1h', err: err.message };
  const message = `${collector} is skipped for ${scope}: the credential lacks the "${err.permission}" permission; the other sources go on, and it is asked again in an hour`;
  if (o.first) o.log?.warn(line, message);
  else o.log?.debug(line, message);
}

export function createSourcePoller<C extends SingleCallCollector>(options: SourcePollerOptions<C>): (signal: AbortSignal) => Promise<void> {
  const { collector, scope, store, reporter } = options;
  const now = options.now ?? steadyNow;
  let skippedUntil = -Infinity;
  return async (signal) => {
    if (now() < skippedUntil) return;
    const finish = reporter.begin();
    try {
      const cuts = noCuts();
      const data = await options.fetch(signal, cuts);
      reporter.cut(cuts);
      store.recordSuccess(collector, scope, data, finish(true));
      reporter.succeeded(collector, scope);
      // Allowed again: a later refusal is news, and warned about.
      skippedUntil = -Infinity;
    } catch (err) {
      if (isAbort(err, signal)) return;
      if (options.skipWithoutPermission && err instanceof ApiAuthError) {
        const first = skippedUntil === -Infinity;
        skippedUntil = now() + PERMISSION_RECHECK_MS;
        recordSkipped({ store, log: options.log, collector, scope, err, first }, finish(false, err));
        return;
      }
      skippedUntil = -Infinity;
      store.recordFailure(collector, scope, finish(false, err));
      reporter.failed(collector, scope, err);
    }
  };
}
