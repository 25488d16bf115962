// The stale connector action's policy: a cfd_tunnel connector without an active connection for
// STALE_CONNECTOR_AFTER, next to a sibling that has one, removed with DELETE ...?client_id=.

import { formatDuration } from '../config/duration.js';
import type { RemediationMode } from '../config/schema.js';
import { activeConnections, type PollIntervals } from '../domain/types.js';
import type { Snapshot } from '../snapshot/store.js';
import { deleteConnector, listConnectors } from '../sources/tunnels/connectors-api.js';
import { normalizeConnectors } from '../sources/tunnels/normalize.js';
import type { ApiClient } from '../transport/http.js';
import { CLEANUP_CONNECTOR, connectorKey, findStaleConnectors, type StalenessTracker, staleShare, trackStaleness } from './detect.js';
import { type ActionPolicy, type Blocker, type Candidate, SKIP_REASONS, sourceProblem } from './pipeline.js';

/** This share or more of an account's connectors without an active connection at once: act on none (an HA pair losing one side everywhere is exactly half). */
const BLAST_RADIUS_SHARE = 0.5;

export interface StaleConnectorOptions {
  mode: RemediationMode;
  client: ApiClient;
  staleAfterMs: number;
  cooldownMs: number;
  intervals: PollIntervals;
  /** Connections data older than this (STALE_DATA_MAX_AGE) is not acted on. */
  maxDataAgeMs: number;
  now: () => number;
}

/** A stale connector, with what the blockers look at. */
export interface StaleConnector {
  accountId: string;
  tunnelId: string;
  connectorId: string;
  /** The latest connections read of its tunnel failed (the data is the read before). */
  readError: string | undefined;
  /** When its tunnel's connections were read. */
  readAt: number;
  /** Of the account's connected tunnels' connectors, the share without an active connection. */
  accountStaleShare: number;
  /** Another connector of the same tunnel holds an active connection. */
  hasActiveSibling: boolean;
}

/** In the order the pipeline asks them: the target's own data, then the account, then the tunnel. */
function staleConnectorBlockers(options: StaleConnectorOptions): Blocker<StaleConnector>[] {
  return [
    { skip: 'source_failed', check: (c) => (c.subject.readError ? `the latest connections read of this tunnel failed: ${c.subject.readError}` : undefined) },
    {
      skip: 'data_stale',
      check: (c) => {
        const age = options.now() - c.subject.readAt;
        return age > options.maxDataAgeMs
          ? `this tunnel's connections were read ${formatDuration(age)} ago (STALE_DATA_MAX_AGE ${formatDuration(options.maxDataAgeMs)})`
          : undefined;
      },
    },
    {
      skip: 'blast_radius',
      check: (c) =>
        c.subject.accountStaleShare >= BLAST_RADIUS_SHARE
          ? `${Math.round(c.subject.accountStaleShare * 100)}% of the account's connectors have no active connection: probably the API or the exporter, not the connectors`
          : undefined,
    },
    { skip: 'no_active_sibling', check: (c) => (c.subject.hasActiveSibling ? undefined : 'no other connector of this tunnel holds an active connection') },
  ];
}

export function staleConnectorPolicy(options: StaleConnectorOptions): ActionPolicy<StaleConnector> {
  const { client } = options;
  let tracker: StalenessTracker = new Map();

  return {
    action: CLEANUP_CONNECTOR,
    mode: options.mode,
    trigger: 'connections',
    skipReasons: SKIP_REASONS.filter((x) => !['max_attempts', 'credential_not_allowed', 'over_quota', 'delete_pending', 'not_org_admin'].includes(x)),
    cooldownMs: () => options.cooldownMs,
    // The tunnel list must be current; each candidate's own connections data is checked by the
    // blockers (connections are refreshed tunnel by tunnel, so one global age says nothing about a target).
    sourceProblem: (snapshot, accountId, now) => sourceProblem([snapshot.tunnels.get(accountId)], now, 2 * options.intervals.tunnelsSeconds * 1000),
    blockers: staleConnectorBlockers(options),

    candidates(snapshot: Snapshot, accountId: string): Candidate<StaleConnector>[] {
      tracker = trackStaleness(tracker, snapshot, accountId);
      const found = findStaleConnectors(snapshot, tracker, accountId, options.staleAfterMs);
      if (found.length === 0) return [];
      const share = staleShare(snapshot, accountId);
      return found.map((c) => {
        const own = snapshot.connections.get(accountId)?.data?.get(c.tunnel.id);
        return {
          key: connectorKey(accountId, c.tunnel.id, c.connectorId),
          subject: {
            accountId,
            tunnelId: c.tunnel.id,
            connectorId: c.connectorId,
            readError: own?.error,
            readAt: own?.fetchedAt ?? 0,
            accountStaleShare: share,
            hasActiveSibling: c.hasActiveSibling,
          },
          target: { account_id: accountId, tunnel_id: c.tunnel.id, tunnel_name: c.tunnel.name, connector_id: c.connectorId },
          reason: `connector has had no active connection for ${formatDuration(c.staleForMs)}`,
          evidence: {
            stale_for: formatDuration(c.staleForMs),
            stale_after: formatDuration(options.staleAfterMs),
            account_stale_share: Number(share.toFixed(2)),
          },
        };
      });
    },

    async recheck(c, signal) {
      const { accountId, tunnelId, connectorId } = c.subject;
      let live: ReturnType<typeof normalizeConnectors>['connectors'];
      try {
        // Read as the pollers read it, so "active" means the same here as in the metrics.
        live = normalizeConnectors(await listConnectors(client, accountId, 'cfd_tunnel', tunnelId, signal)).connectors;
      } catch (err) {
        return { skip: 'recheck_failed', error: (err as Error).message };
      }
      const current = live.find((x) => x.id === connectorId);
      if (!current || activeConnections(current) > 0) {
        return { skip: 'resolved', reason: current ? 'the connector has an active connection again' : 'the connector is already gone' };
      }
      const siblingActive = live.filter((x) => x.id !== connectorId).reduce((n, x) => n + activeConnections(x), 0);
      if (siblingActive === 0) return { skip: 'no_active_sibling', reason: 'on re-read, no other connector of this tunnel holds an active connection' };
      return {
        evidence: { sibling_active_connections: siblingActive },
        act: async (s) => {
          await deleteConnector(client, accountId, tunnelId, connectorId, s);
          return { done: true };
        },
      };
    },
  };
}
