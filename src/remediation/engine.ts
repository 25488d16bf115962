// Remediation as a pipeline (after kured): is an action needed (policies)? is anything blocking
// it (guards)? re-read the target from the API and check again; act (or, in dry-run, don't);
// record the cooldown; write one audit log line. Runs after the polls that feed it, one decision
// at a time. Reads the store, acts through the clients, never writes the store.
import { deleteConnector, listConnectors } from '../clients/cloudflare/connections.js';
import { ApiNotFoundError } from '../clients/errors.js';
import type { ApiClient } from '../clients/http.js';
import { getProxyRecord, retryProxyRecord } from '../clients/posthog/proxy-records.js';
import { formatDuration } from '../config/duration.js';
import type { Config, RemediationMode } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { PollIntervals, RemediationCounters } from '../domain/types.js';
import { normalizeConnectors } from '../pollers/normalize.js';
import type { SnapshotStore, SourceEntry } from '../state/store.js';
import { activeConnections, type ObservedConnector } from '../domain/types.js';
import {
  CLEANUP_CONNECTOR,
  findFailedProxyRecords,
  findStaleConnectors,
  RETRY_PROXY_RECORD,
  RETRYABLE_RECORD_STATUSES,
  staleShare,
  trackStaleness,
  type RemediationAction,
  type StalenessTracker,
} from './policies.js';
import { loadRemediationState, type RemediationState } from './state.js';

const MAX_RECORD_ATTEMPTS = 5;
const MAX_RECORD_BACKOFF_MS = 24 * 3_600_000;
/** More than this share of an account's connectors without an active connection: act on none. */
const BLAST_RADIUS_SHARE = 0.5;

export const SKIP_REASONS = [
  'source_failed',
  'data_stale',
  'blast_radius',
  'no_active_sibling',
  'cooldown',
  'max_attempts',
  'hourly_limit',
  'resolved',
  'recheck_failed',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface Remediation {
  start(): void;
  stop(): void;
  /** Resolves when no decision is in progress. */
  idle(): Promise<void>;
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

interface Decision {
  action: RemediationAction;
  mode: RemediationMode;
  target: Record<string, string>;
  reason: string;
  evidence: Record<string, unknown>;
  outcome: 'done' | 'would_act' | 'skipped' | 'failed';
  skip?: SkipReason;
  error?: string;
}

/** Why a source's data may not be acted on: its last poll failed, or its data is too old. */
export function sourceProblem(entries: (SourceEntry<unknown> | undefined)[], now: number, maxAgeMs: number): SkipReason | undefined {
  for (const entry of entries) {
    if (!entry || !entry.last.ok) return 'source_failed';
    if (entry.lastSuccessAt === undefined || now - entry.lastSuccessAt > maxAgeMs) return 'data_stale';
  }
  return undefined;
}

/** The `mode` label of the remediation counters. */
function countedMode(mode: RemediationMode): 'live' | 'dry_run' {
  return mode === 'on' ? 'live' : 'dry_run';
}

export function recordBackoffMs(cooldownMs: number, attempts: number): number {
  return Math.min(cooldownMs * 2 ** Math.max(0, attempts - 1), MAX_RECORD_BACKOFF_MS);
}

export function createRemediation(options: RemediationOptions): Remediation {
  const { config, store, clients, counters, log, now } = options;
  const r = config.remediation;
  const state =
    options.state ?? loadRemediationState({ ...(r.stateFile ? { path: r.stateFile } : {}), now: now(), cooldownMs: r.cooldownMs, log });
  const controller = new AbortController();
  let tracker: StalenessTracker = new Map();
  let queue: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;

  const audit = (d: Decision) => {
    if (d.outcome === 'skipped' && d.skip) counters.skipped(d.action, d.skip);
    const line = { action: d.action, mode: d.mode, target: d.target, reason: d.reason, evidence: d.evidence, outcome: d.outcome, ...(d.skip ? { skip_reason: d.skip } : {}), ...(d.error ? { error: d.error } : {}) };
    // Cooldown skips repeat every poll; the first one said it all.
    if (d.skip === 'cooldown') log.debug(line, 'remediation decision');
    else if (d.outcome === 'failed') log.error(line, 'remediation decision');
    else log.info(line, 'remediation decision');
  };

  /** Guards shared by both actions; returns a skip reason or undefined. */
  const budgetOrCooldown = (key: string, t: number, attempts?: number): SkipReason | undefined => {
    if (attempts !== undefined && attempts >= MAX_RECORD_ATTEMPTS) return 'max_attempts';
    if (state.blockedUntil(key) > t) return 'cooldown';
    if (state.actionsInLastHour(t) >= r.maxActionsPerHour) return 'hourly_limit';
    return undefined;
  };

  /**
   * The last step, after every guard and the re-check passed: count the decision, send the write
   * (not in dry-run), log the outcome and persist the cooldown. A 404 means the target is already
   * gone, which is what the action wanted.
   */
  const act = async (decision: Omit<Decision, 'outcome'>, write: () => Promise<void>) => {
    counters.action(decision.action, countedMode(decision.mode));
    if (decision.mode === 'dry-run') {
      audit({ ...decision, outcome: 'would_act' });
    } else {
      try {
        await write();
        audit({ ...decision, outcome: 'done' });
      } catch (err) {
        if (err instanceof ApiNotFoundError) {
          audit({ ...decision, outcome: 'done', evidence: { ...decision.evidence, note: 'already gone (404)' } });
        } else {
          counters.failure(decision.action);
          audit({ ...decision, outcome: 'failed', error: (err as Error).message });
        }
      }
    }
    await state.save().catch((err: unknown) => log.error({ err: (err as Error).message }, 'could not write the remediation state file'));
  };

  const staleConnectors = async (accountId: string) => {
    const mode = r.staleConnectors;
    const client = clients.cloudflare;
    if (mode === 'off' || !client) return;
    const snapshot = store.snapshot();
    tracker = trackStaleness(tracker, snapshot, accountId);
    const candidates = findStaleConnectors(snapshot, tracker, accountId, r.staleConnectorAfterMs);
    if (candidates.length === 0) return;

    const t = now();
    const maxAge = 2 * options.intervals.tunnelsSeconds * 1000;
    const problem = sourceProblem([snapshot.tunnels.get(accountId), snapshot.connections.get(accountId)], t, maxAge);
    const share = staleShare(snapshot, accountId);

    for (const c of candidates) {
      const key = `connector:${accountId}/${c.tunnel.id}/${c.connectorId}`;
      const target = { account_id: accountId, tunnel_id: c.tunnel.id, tunnel_name: c.tunnel.name, connector_id: c.connectorId };
      const evidence: Record<string, unknown> = { stale_for: formatDuration(c.staleForMs), stale_after: formatDuration(r.staleConnectorAfterMs), account_stale_share: Number(share.toFixed(2)) };
      const base = { action: CLEANUP_CONNECTOR, mode, target, evidence } as const;
      const reason = `connector has had no active connection for ${formatDuration(c.staleForMs)}`;
      const skip = (why: SkipReason, extra: Partial<Decision> = {}) => audit({ ...base, reason, outcome: 'skipped', skip: why, ...extra });

      if (problem) {
        skip(problem);
        continue;
      }
      if (share > BLAST_RADIUS_SHARE) {
        skip('blast_radius', { reason: `${Math.round(share * 100)}% of the account's connectors have no active connection: probably the API or the exporter, not the connectors` });
        continue;
      }
      if (!c.hasActiveSibling) {
        skip('no_active_sibling', { reason: 'no other connector of this tunnel holds an active connection' });
        continue;
      }
      const blocked = budgetOrCooldown(key, t);
      if (blocked) {
        skip(blocked, blocked === 'cooldown' ? { evidence: { ...evidence, next_allowed_at: new Date(state.blockedUntil(key)).toISOString() } } : {});
        continue;
      }

      // Re-read the tunnel's connectors right before acting and check again.
      let live: ObservedConnector[];
      try {
        live = normalizeConnectors(await listConnectors(client, accountId, 'cfd_tunnel', c.tunnel.id, controller.signal)).connectors;
      } catch (err) {
        skip('recheck_failed', { error: (err as Error).message });
        continue;
      }
      const current = live.find((x) => x.id === c.connectorId);
      if (!current || activeConnections(current) > 0) {
        skip('resolved', { reason: current ? 'the connector has an active connection again' : 'the connector is already gone' });
        continue;
      }
      const siblingActive = live.filter((x) => x.id !== c.connectorId).reduce((n, x) => n + activeConnections(x), 0);
      if (siblingActive === 0) {
        skip('no_active_sibling', { reason: 'on re-read, no other connector of this tunnel holds an active connection' });
        continue;
      }
      evidence.sibling_active_connections = siblingActive;

      state.recordAction(key, t, () => r.cooldownMs);
      await act({ ...base, reason }, () => deleteConnector(client, accountId, c.tunnel.id, c.connectorId, controller.signal));
    }
  };

  const proxyRecords = async (organizationId: string) => {
    const snapshot = store.snapshot();
    const mode = r.proxyRecords;
    const client = clients.posthog;
    if (mode === 'off' || !client) return;
    // A record seen valid again starts over: its attempts and back-off are forgotten.
    for (const record of snapshot.proxy_records.get(organizationId)?.data?.records ?? []) {
      if (record.status === 'valid') state.forget(`record:${organizationId}/${record.id}`);
    }
    const candidates = findFailedProxyRecords(snapshot, organizationId);
    if (candidates.length === 0) return;
    const t = now();
    const problem = sourceProblem([snapshot.proxy_records.get(organizationId)], t, 2 * options.intervals.proxyRecordsSeconds * 1000);

    for (const record of candidates) {
      const key = `record:${organizationId}/${record.id}`;
      const attempts = state.target(key)?.attempts ?? 0;
      const target = { organization_id: organizationId, record_id: record.id, domain: record.domain };
      const evidence: Record<string, unknown> = { status: record.status, attempts, ...(record.message ? { message: record.message } : {}) };
      const base = { action: RETRY_PROXY_RECORD, mode, target, evidence } as const;
      const reason = `proxy record is ${record.status}`;
      const skip = (why: SkipReason, extra: Partial<Decision> = {}) => audit({ ...base, reason, outcome: 'skipped', skip: why, ...extra });

      if (problem) {
        skip(problem);
        continue;
      }
      const blocked = budgetOrCooldown(key, t, attempts);
      if (blocked) {
        skip(blocked, blocked === 'max_attempts' ? { reason: `gave up after ${MAX_RECORD_ATTEMPTS} retries` } : {});
        continue;
      }
      let current;
      try {
        current = await getProxyRecord(client, organizationId, record.id, controller.signal);
      } catch (err) {
        if (err instanceof ApiNotFoundError) skip('resolved', { reason: 'the record is gone' });
        else skip('recheck_failed', { error: (err as Error).message });
        continue;
      }
      if (!RETRYABLE_RECORD_STATUSES.has(current.status ?? '')) {
        skip('resolved', { reason: `on re-read the record is ${current.status}` });
        continue;
      }

      // Back-off doubles per attempt, from REMEDIATION_COOLDOWN up to 24h.
      const next = state.recordAction(key, t, (n) => recordBackoffMs(r.cooldownMs, n));
      evidence.attempt = next.attempts;
      evidence.next_allowed_at = new Date(next.nextAllowedAt).toISOString();
      await act({ ...base, reason }, () => retryProxyRecord(client, organizationId, record.id, controller.signal));
    }
  };

  const enqueue = (fn: () => Promise<void>) => {
    queue = queue
      .then(() => (controller.signal.aborted ? undefined : fn()))
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'remediation step failed'));
  };

  return {
    start() {
      if (r.staleConnectors !== 'off') counters.enable(CLEANUP_CONNECTOR, countedMode(r.staleConnectors), SKIP_REASONS.filter((x) => x !== 'max_attempts'));
      if (r.proxyRecords !== 'off') counters.enable(RETRY_PROXY_RECORD, countedMode(r.proxyRecords), SKIP_REASONS.filter((x) => !['blast_radius', 'no_active_sibling'].includes(x)));
      unsubscribe = store.subscribe((_snapshot, change) => {
        if (change.collector === 'connections') enqueue(() => staleConnectors(change.scope));
        if (change.collector === 'proxy_records') enqueue(() => proxyRecords(change.scope));
      });
      log.info({ stale_connectors: r.staleConnectors, proxy_records: r.proxyRecords, state_file: r.stateFile ?? null }, 'remediation enabled');
    },
    stop() {
      unsubscribe?.();
      controller.abort(new Error('exporter stopping'));
    },
    idle: () => queue,
  };
}
