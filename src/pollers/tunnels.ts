// Polls one Cloudflare account's tunnels (cfd_tunnel and warp_connector) and then, for each tunnel
// that can have connections, its connectors. Two collectors: `tunnels` and `connections`.
import { listConnectors } from '../clients/cloudflare/connections.js';
import { listTunnels, TUNNELS_PER_PAGE } from '../clients/cloudflare/tunnels.js';
import { TUNNEL_TYPES, type TunnelType } from '../domain/types.js';
import { ApiNotFoundError } from '../clients/errors.js';
import type { Logger } from '../log.js';
import type { ApiClient } from '../clients/http.js';
import type { SnapshotStore } from '../state/store.js';
import type { Tunnel, TunnelConnections } from '../domain/types.js';
import { normalizeConnectors, normalizeTunnels } from './normalize.js';
import { deriveConnectors } from './reconnects.js';
import { errorMessage, forEachLimited, isAbort, type PollReporter } from './poll.js';

/**
 * Cloudflare keeps tracking a down tunnel's connections (as pending reconnect) for a while after
 * the disconnect; past this window a down tunnel is not asked for connections.
 */
export const RECENTLY_DOWN_MS = 30 * 60_000;

/** List calls one poll of an account makes: a page per TUNNELS_PER_PAGE tunnels of each type, at least one. */
export function tunnelListCalls(tunnels: readonly Tunnel[]): number {
  return TUNNEL_TYPES.reduce((n, type) => n + Math.max(1, Math.ceil(tunnels.filter((t) => t.type === type).length / TUNNELS_PER_PAGE)), 0);
}

/** Whether a tunnel's status means it can have connectors worth an API call. */
export function needsConnectionsCall(tunnel: Tunnel, now: number): boolean {
  if (tunnel.status === 'inactive') return false;
  if (tunnel.status === 'down') {
    return tunnel.connsInactiveAt === undefined || now - tunnel.connsInactiveAt <= RECENTLY_DOWN_MS;
  }
  return true;
}

export interface TunnelsPollerOptions {
  client: ApiClient;
  accountId: string;
  store: SnapshotStore;
  reporter: PollReporter;
  /** Per-tunnel connection calls in flight at once. */
  concurrency?: number;
  log?: Logger;
  now?: () => number;
}

export function createTunnelsPoller(options: TunnelsPollerOptions): (signal: AbortSignal) => Promise<void> {
  const { client, accountId, store, reporter } = options;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 4;
  let warpUnavailableLogged = false;

  /**
   * One type's list. A 404 on the warp_connector list means the account has no WARP Connector
   * route (no Zero Trust network on it): there are no WARP connectors to report, which is not a
   * failure of the tunnels collector.
   */
  const listType = async (type: TunnelType, signal: AbortSignal) => {
    try {
      return await listTunnels(client, accountId, type, signal, (count) =>
        options.log?.warn({ account_id: accountId, tunnel_type: type, repeated_ids: count }, 'tunnel list pages repeated ids (tunnels moved while paging): skipped the repeats'),
      );
    } catch (err) {
      if (type !== 'warp_connector' || !(err instanceof ApiNotFoundError)) throw err;
      if (!warpUnavailableLogged) {
        warpUnavailableLogged = true;
        options.log?.info({ account_id: accountId }, 'the account has no warp_connector endpoint (404): reporting no WARP connectors');
      }
      return [];
    }
  };

  return async function pollTunnels(signal) {
    const finishList = reporter.begin();
    let tunnels: Tunnel[];
    try {
      const lists = await Promise.all(TUNNEL_TYPES.map(async (type) => normalizeTunnels(accountId, type, await listType(type, signal))));
      tunnels = lists.flat();
    } catch (err) {
      if (isAbort(err, signal)) return;
      store.recordFailure('tunnels', accountId, finishList(false, err));
      store.recordFailure('connections', accountId, { ...finishList(false), error: `not polled: the tunnel list failed (${errorMessage(err)})`, durationSeconds: 0 });
      reporter.failed('tunnels', accountId, err);
      return;
    }
    store.recordSuccess('tunnels', accountId, tunnels, finishList(true));
    reporter.succeeded('tunnels', accountId);

    const finishConnections = reporter.begin();
    const results = new Map<string, TunnelConnections>();
    let firstError: unknown;
    let failures = 0;
    await forEachLimited(tunnels, concurrency, async (tunnel) => {
      if (signal.aborted) return;
      if (!needsConnectionsCall(tunnel, now())) {
        const reconnects = store.snapshot().connections.get(accountId)?.data?.get(tunnel.id)?.reconnects ?? new Map<string, number>();
        results.set(tunnel.id, { tunnelId: tunnel.id, connectors: [], reconnects, fetchedAt: now(), fetched: false });
        return;
      }
      try {
        const observed = normalizeConnectors(await listConnectors(client, accountId, tunnel.type, tunnel.id, signal));
        if (observed.skipped.connectors > 0 || observed.skipped.connections > 0) {
          options.log?.warn(
            { account_id: accountId, tunnel_id: tunnel.id, skipped_connectors: observed.skipped.connectors, skipped_connections: observed.skipped.connections },
            'connections answer had connectors or connections without an id, or with a repeated id: left them out',
          );
        }
        const previous = store.snapshot().connections.get(accountId)?.data?.get(tunnel.id);
        results.set(tunnel.id, { tunnelId: tunnel.id, ...deriveConnectors(previous, observed.connectors), fetchedAt: now(), fetched: true });
      } catch (err) {
        failures++;
        firstError ??= err;
      }
    });
    if (signal.aborted) return;
    const ids = new Set(tunnels.map((t) => t.id));
    if (failures === 0) {
      store.recordConnections(accountId, ids, results, finishConnections(true));
      reporter.succeeded('connections', accountId);
    } else {
      const err = new Error(`${failures} of ${tunnels.length} tunnels' connections could not be read; first: ${errorMessage(firstError)}`, { cause: firstError });
      store.recordConnections(accountId, ids, results, finishConnections(false, err));
      reporter.failed('connections', accountId, err);
    }
  };
}
