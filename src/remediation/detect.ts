// What needs action, as pure functions of the snapshot: which connectors have been stale for how
// long, the account's stale share, which proxy records failed. No I/O and no state of their own:
// the stale connector policy (./delete-stale-connector.ts) keeps the staleness tracker they return.

import { activeConnections, type ProxyRecord, type Tunnel } from '../domain/types.js';
import type { Snapshot } from '../snapshot/store.js';

export const CLEANUP_CONNECTOR = 'cleanup_connector';
export const RETRY_PROXY_RECORD = 'retry_proxy_record';
export type RemediationAction = typeof CLEANUP_CONNECTOR | typeof RETRY_PROXY_RECORD;

/**
 * For each connector without an active connection: since when (the `fetchedAt` of the first poll
 * in an unbroken run of successful polls that saw it so) and the last poll that saw it.
 * Keyed by connectorKey().
 */
export type StalenessTracker = ReadonlyMap<string, { since: number; lastSeen: number }>;

/** A connector's one key: in the staleness tracker and in the remediation state (its cooldown). */
export function connectorKey(accountId: string, tunnelId: string, connectorId: string): string {
  return `connector:${accountId}/${tunnelId}/${connectorId}`;
}

/**
 * Folds the snapshot's connection data into the tracker. Only data read from the API counts, and
 * each tunnel's data only once (by its fetchedAt): a failed poll neither extends nor resets a run.
 */
export function trackStaleness(previous: StalenessTracker, snapshot: Snapshot, accountId: string): StalenessTracker {
  const connections = snapshot.connections.get(accountId)?.data;
  const prefix = `connector:${accountId}/`;
  const next = new Map([...previous].filter(([key]) => !key.startsWith(prefix)));
  if (!connections) return previous;
  for (const [tunnelId, tunnel] of connections) {
    if (!tunnel.fetched) continue;
    for (const connector of tunnel.connectors) {
      const key = connectorKey(accountId, tunnelId, connector.id);
      const before = previous.get(key);
      if (activeConnections(connector) > 0) continue;
      next.set(
        key,
        before && before.lastSeen <= tunnel.fetchedAt
          ? { since: before.since, lastSeen: tunnel.fetchedAt }
          : { since: tunnel.fetchedAt, lastSeen: tunnel.fetchedAt },
      );
    }
  }
  return next;
}

export interface StaleConnectorCandidate {
  accountId: string;
  tunnel: Tunnel;
  connectorId: string;
  staleForMs: number;
  /** Another connector of the same tunnel holds an active connection. */
  hasActiveSibling: boolean;
}

/** Connectors of cfd_tunnels that have had no active connection for at least `afterMs`. */
export function findStaleConnectors(snapshot: Snapshot, tracker: StalenessTracker, accountId: string, afterMs: number): StaleConnectorCandidate[] {
  const tunnels = snapshot.tunnels.get(accountId)?.data ?? [];
  const connections = snapshot.connections.get(accountId)?.data;
  const out: StaleConnectorCandidate[] = [];
  for (const tunnel of tunnels) {
    if (tunnel.type !== 'cfd_tunnel') continue;
    const data = connections?.get(tunnel.id);
    if (!data?.fetched) continue;
    for (const connector of data.connectors) {
      const seen = tracker.get(connectorKey(accountId, tunnel.id, connector.id));
      if (!seen) continue;
      const staleForMs = seen.lastSeen - seen.since;
      if (staleForMs < afterMs) continue;
      out.push({
        accountId,
        tunnel,
        connectorId: connector.id,
        staleForMs,
        hasActiveSibling: data.connectors.some((c) => c.id !== connector.id && activeConnections(c) > 0),
      });
    }
  }
  return out;
}

/**
 * The share of connectors without an active connection, among the account's tunnels that still
 * have at least one active connector. When half or more there look stale at once, the likelier
 * story is the API or the exporter, not the connectors. Left out, as explained by something else:
 * tunnels with no active connector at all (down: the sibling guard already keeps them from being
 * touched), and connectors whose successor the exporter saw arrive (a restart it watched; without
 * this a one-tunnel account after a restart would be 1 of 2, and never cleaned up).
 */
export function staleShare(snapshot: Snapshot, accountId: string): number {
  const connections = snapshot.connections.get(accountId)?.data;
  let total = 0;
  let stale = 0;
  for (const tunnel of connections?.values() ?? []) {
    if (!tunnel.fetched || !tunnel.connectors.some((c) => activeConnections(c) > 0)) continue;
    for (const connector of tunnel.connectors) {
      if (connector.successorSeen) continue;
      total++;
      if (activeConnections(connector) === 0) stale++;
    }
  }
  return total === 0 ? 0 : stale / total;
}

export const RETRYABLE_RECORD_STATUSES = new Set(['erroring', 'timed_out']);

/** Proxy records in `erroring` or `timed_out`. */
export function findFailedProxyRecords(snapshot: Snapshot, organizationId: string): ProxyRecord[] {
  const records = snapshot.proxy_records.get(organizationId)?.data?.records ?? [];
  return records.filter((r) => RETRYABLE_RECORD_STATUSES.has(r.status));
}
