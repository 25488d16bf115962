// What every poller does around its API calls: time the poll, record success or failure in the
// store, and log: a success at debug (what it read, how long it took); a failure at error when it is
// new, its repeats at debug, and every STILL_FAILING_EVERY_MS a warning that it keeps failing (how
// long, how often), until it changes or clears.

import { steadyNow } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import type { Logger } from '../log.js';
import type { CollectorData, CollectorName, PerTunnelCollector, PollOutcome, SnapshotStore } from '../snapshot/store.js';
import { ApiAbortedError, ApiAuthError } from '../transport/errors.js';
import { type Cuts, noCuts, type OnCut, reportCuts } from './answer.js';

export interface PollReporter {
  /** Starts timing; the returned function builds the outcome. */
  begin(): (ok: boolean, err?: unknown) => PollOutcome;
  /** Logs a failure unless it repeats the previous one for this collector and scope. */
  failed(collector: CollectorName, scope: string, err: unknown): void;
  /** Logs the success at debug, with how many items the poll read. */
  succeeded(collector: CollectorName, scope: string, outcome: PollOutcome, items: number): void;
  /** Counts what one answer had cut to the limits of ./answer.ts. */
  cut(cuts: Cuts): void;
}

export function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || err instanceof ApiAbortedError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How often a source that keeps failing with the same error is said again at warn. */
const STILL_FAILING_EVERY_MS = 300_000;

interface Failing {
  message: string;
  since: number;
  saidAt: number;
  failures: number;
}

export function createPollReporter(log: Logger, now: () => number = steadyNow, onCut?: OnCut): PollReporter {
  const failing = new Map<string, Failing>();
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
      const at = now();
      const known = failing.get(key);
      if (known?.message !== message) {
        failing.set(key, { message, since: at, saidAt: at, failures: 1 });
        log.error({ collector, scope, err: message }, 'poll failed: keeping the previous data until it is too old');
        return;
      }
      known.failures++;
      if (at - known.saidAt < STILL_FAILING_EVERY_MS) {
        log.debug({ collector, scope, err: message }, 'poll failed again');
        return;
      }
      known.saidAt = at;
      log.warn({ collector, scope, err: message, failing_for: formatDuration(at - known.since), failures: known.failures }, 'poll still failing');
    },
    cut: (cuts) => reportCuts(cuts, onCut),
    succeeded(collector, scope, outcome, items) {
      const key = `${collector}/${scope}`;
      if (failing.delete(key)) log.info({ collector, scope }, 'poll recovered');
      log.debug({ collector, scope, items, duration_ms: Math.round(outcome.durationSeconds * 1000) }, 'poll succeeded');
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
      const outcome = finish(true);
      store.recordSuccess(collector, scope, data, outcome);
      reporter.succeeded(collector, scope, outcome, itemCount(data));
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

/** How many items a source's answer holds: its length, or, for an object (proxy records), its lists' lengths. */
function itemCount(data: unknown): number {
  if (Array.isArray(data)) return data.length;
  if (data && typeof data === 'object') return Object.values(data).reduce((n: number, v) => n + (Array.isArray(v) ? v.length : 0), 0);
  return 0;
}
