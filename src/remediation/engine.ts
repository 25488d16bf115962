// Remediation: runs each enabled action's policy through the one pipeline (./pipeline.ts) after
// the polls that feed it, one decision at a time. Reads the store, acts through the clients, never
// writes the store.

import type { Config } from '../config/schema.js';
import type { PollIntervals, RemediationCounters } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { SnapshotStore } from '../snapshot/store.js';
import type { ApiClient } from '../transport/http.js';
import { staleConnectorPolicy } from './delete-stale-connector.js';
import { type ActionPolicy, countedMode, createPipeline, type RecentDecision } from './pipeline.js';
import { proxyRecordPolicy } from './retry-proxy-record.js';
import { type CorruptStateFile, type JournalEntry, loadRemediationState, type RemediationState } from './state-file.js';

export { sourceProblem } from './pipeline.js';
export { recordBackoffMs } from './retry-proxy-record.js';

export interface Remediation {
  start(): void;
  stop(): void;
  /** Resolves when no decision is in progress. */
  idle(): Promise<void>;
  /** The latest decisions, newest first (the landing page). */
  recent(): readonly RecentDecision[];
  /** What needs a person (the landing page): a corrupt state file, domains deleted and not back. */
  problems(): { stateFileCorrupt?: CorruptStateFile; recreatesPending: readonly JournalEntry[] };
}

export interface RemediationOptions {
  config: Config;
  store: SnapshotStore;
  clients: { cloudflare?: ApiClient; posthog?: ApiClient };
  counters: RemediationCounters;
  log: Logger;
  now: () => number;
  intervals: PollIntervals;
  state?: RemediationState;
}

/** The enabled actions' policies, each bound to the pipeline: the engine needs no more of one than this. */
function enabledPolicies(options: RemediationOptions, state: RemediationState, pipeline: ReturnType<typeof createPipeline>) {
  const { config, store, clients, counters, log, now, intervals } = options;
  const r = config.remediation;
  const bind = <T>(p: ActionPolicy<T>) => ({
    action: p.action,
    mode: p.mode,
    trigger: p.trigger,
    skipReasons: p.skipReasons,
    run: (scope: string) => pipeline.run(p, scope),
  });
  const policies: ReturnType<typeof bind>[] = [];
  if (r.staleConnectors !== 'off' && clients.cloudflare) {
    const client = clients.cloudflare;
    policies.push(
      bind(
        staleConnectorPolicy({
          mode: r.staleConnectors,
          client,
          staleAfterMs: r.staleConnectorAfterMs,
          cooldownMs: r.cooldownMs,
          intervals,
          maxDataAgeMs: config.staleDataMaxAgeMs,
          now,
        }),
      ),
    );
  }
  if (r.proxyRecords !== 'off' && clients.posthog) {
    const client = clients.posthog;
    policies.push(
      bind(
        proxyRecordPolicy({
          mode: r.proxyRecords,
          method: r.proxyRecordRetryMethod,
          client,
          cooldownMs: r.cooldownMs,
          intervals,
          state,
          counters,
          log,
          snapshot: store.snapshot,
          now,
        }),
      ),
    );
  }
  return policies;
}

export function createRemediation(options: RemediationOptions): Remediation {
  const { config, store, counters, log, now } = options;
  const r = config.remediation;
  const state = options.state ?? loadRemediationState({ path: r.stateFile, now: now(), cooldownMs: r.cooldownMs, log });
  const controller = new AbortController();
  const pipeline = createPipeline({ snapshot: store.snapshot, state, counters, log, now, maxActionsPerHour: r.maxActionsPerHour, signal: controller.signal });
  const policies = enabledPolicies(options, state, pipeline);

  let queue: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;
  const enqueue = (fn: () => Promise<void>) => {
    queue = queue
      .then(() => (controller.signal.aborted ? undefined : fn()))
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'remediation step failed'));
  };

  return {
    start() {
      for (const p of policies) counters.enable(p.action, countedMode(p.mode), p.skipReasons);
      if (state.corrupt) counters.stateFileCorrupt(state.corrupt.path);
      unsubscribe = store.subscribe((_snapshot, change) => {
        for (const p of policies) if (change.collector === p.trigger) enqueue(() => p.run(change.scope));
      });
      log.info(
        {
          stale_connectors: r.staleConnectors,
          proxy_records: r.proxyRecords,
          proxy_record_retry_method: r.proxyRecordRetryMethod,
          state_file: r.stateFile ?? null,
        },
        'remediation enabled',
      );
    },
    stop() {
      unsubscribe?.();
      controller.abort(new Error('exporter stopping'));
    },
    idle: () => queue,
    recent: () => pipeline.recent(),
    problems: () => ({ ...(state.corrupt ? { stateFileCorrupt: state.corrupt } : {}), recreatesPending: state.journal() }),
  };
}
