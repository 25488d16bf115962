// The stale connector action's policy: a cfd_tunnel connector without an active connection for
// STALE_CONNECTOR_AFTER, next to a sibling that has one, removed with DELETE ...?client_id=.
import { type ApiConnector, deleteConnector, listConnectors } from '../clients/cloudflare/connections.js';
import type { ApiClient } from '../clients/http.js';
import { formatDuration } from '../config/duration.js';
import type { RemediationMode } from '../config/schema.js';
import type { PollIntervals } from '../domain/types.js';
import type { Snapshot } from '../state/store.js';
import { type ActionPolicy, type Candidate, SKIP_REASONS, sourceProblem } from './pipeline.js';
import { CLEANUP_CONNECTOR, findStaleConnectors, type StalenessTracker, staleShare, trackStaleness } from './policies.js';

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

/** Connections a connector holds in a raw connections answer (the API's flag, where set, means not held). */
function held(connector: ApiConnector): number {
  return (connector.conns ?? []).filter((x) => x.is_pending_reconnect !== true).length;
}

export function staleConnectorPolicy(options: StaleConnectorOptions): ActionPolicy {
  const { client } = options;
  let tracker: StalenessTracker = new Map();

  return {
    action: CLEANUP_CONNECTOR,
    mode: options.mode,
    trigger: 'connections',
    skipReasons: SKIP_REASONS.filter((x) => !['max_attempts', 'credential_not_allowed', 'over_quota'].includes(x)),
    cooldownMs: () => options.cooldownMs,
    // The tunnel list must be current; each candidate's own connections data is checked below
    // (connections are refreshed tunnel by tunnel, so one global age says nothing about a target).
    sourceProblem: (snapshot, accountId, now) => sourceProblem([snapshot.tunnels.get(accountId)], now, 2 * options.intervals.tunnelsSeconds * 1000),

    candidates(snapshot: Snapshot, accountId: string): Candidate[] {
      tracker = trackStaleness(tracker, snapshot, accountId);
      const found = findStaleConnectors(snapshot, tracker, accountId, options.staleAfterMs);
      if (found.length === 0) return [];
      const share = staleShare(snapshot, accountId);
      const t = options.now();
      return found.map((c) => {
        const own = snapshot.connections.get(accountId)?.data?.get(c.tunnel.id);
        const ownProblem = own?.error
          ? { skip: 'source_failed' as const, reason: `the latest connections read of this tunnel failed: ${own.error}` }
          : own && t - own.fetchedAt > options.maxDataAgeMs
            ? {
                skip: 'data_stale' as const,
                reason: `this tunnel's connections were read ${formatDuration(t - own.fetchedAt)} ago (STALE_DATA_MAX_AGE ${formatDuration(options.maxDataAgeMs)})`,
              }
            : undefined;
        return {
          key: `connector:${accountId}/${c.tunnel.id}/${c.connectorId}`,
          target: { account_id: accountId, tunnel_id: c.tunnel.id, tunnel_name: c.tunnel.name, connector_id: c.connectorId },
          reason: `connector has had no active connection for ${formatDuration(c.staleForMs)}`,
          evidence: {
            stale_for: formatDuration(c.staleForMs),
            stale_after: formatDuration(options.staleAfterMs),
            account_stale_share: Number(share.toFixed(2)),
          },
          ...(ownProblem
            ? { blocked: ownProblem }
            : share >= BLAST_RADIUS_SHARE
              ? {
                  blocked: {
                    skip: 'blast_radius' as const,
                    reason: `${Math.round(share * 100)}% of the account's connectors have no active connection: probably the API or the exporter, not the connectors`,
                  },
                }
              : !c.hasActiveSibling
                ? { blocked: { skip: 'no_active_sibling' as const, reason: 'no other connector of this tunnel holds an active connection' } }
                : {}),
        };
      });
    },

    async recheck(c, signal) {
      const { account_id: accountId, tunnel_id: tunnelId, connector_id: connectorId } = c.target as Record<'account_id' | 'tunnel_id' | 'connector_id', string>;
      let live: ApiConnector[];
      try {
        live = await listConnectors(client, accountId, 'cfd_tunnel', tunnelId, signal);
      } catch (err) {
        return { skip: 'recheck_failed', error: (err as Error).message };
      }
      const current = live.find((x) => x.id === connectorId);
      if (!current || held(current) > 0) {
        return { skip: 'resolved', reason: current ? 'the connector has an active connection again' : 'the connector is already gone' };
      }
      const siblingActive = live.filter((x) => x.id !== connectorId).reduce((n, x) => n + held(x), 0);
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
