// The tunnel list and connections answers as the exporter keeps them. Pure: no I/O, no clock. Each
// keeps what one answer may contribute within ../answer.ts and adds what it cut to the `cuts` given.
import { HA_STATUSES, type HaStatus, type ObservedConnector, TUNNEL_STATUSES, type Tunnel, type TunnelStatus, type TunnelType } from '../../domain/types.js';
import { ANSWER_LIMITS, bounded, type Cuts, epochMs, noCuts, oneOf } from '../answer.js';
import type { ApiTunnel } from './api.js';
import type { ApiConnector } from './connectors-api.js';

export function normalizeTunnels(accountId: string, type: TunnelType, tunnels: ApiTunnel[], cuts: Cuts = noCuts()): Tunnel[] {
  return tunnels
    .filter((t) => !t.deleted_at)
    .map((t) => {
      const createdAt = epochMs(t.created_at);
      const connsActiveAt = epochMs(t.conns_active_at);
      const connsInactiveAt = epochMs(t.conns_inactive_at);
      return {
        accountId,
        id: t.id,
        name: bounded(t.name, cuts),
        type,
        status: oneOf<TunnelStatus>(TUNNEL_STATUSES, t.status, 'unknown'),
        configSrc: t.config_src ?? 'unknown',
        createdAt,
        connsActiveAt,
        connsInactiveAt,
      };
    });
}

export interface NormalizedConnectors {
  connectors: ObservedConnector[];
  /** Connectors and connections left out: no id, or an id already seen in the same answer. */
  skipped: { connectors: number; connections: number };
  /** What was cut to ANSWER_LIMITS. */
  cuts: Cuts;
}

/**
 * One connections answer as the exporter keeps it. A connector or connection without an id cannot
 * be followed from poll to poll, and a repeated id would give duplicate series: both are left out
 * and counted, so the caller can log them, instead of failing the whole tunnel. WARP connectors
 * report `ha_status`; one without it (or with a value we do not know) gets none.
 */
export function normalizeConnectors(connectors: ApiConnector[]): NormalizedConnectors {
  const skipped = { connectors: 0, connections: 0 };
  const cuts = noCuts();
  const seen = new Set<string>();
  const out: ObservedConnector[] = [];
  const colos = new Set<string>();
  // Past the limit, connectors that hold connections are kept before empty ones.
  const holdingFirst =
    connectors.length > ANSWER_LIMITS.connectorsPerTunnel
      ? [...connectors].sort((a, b) => Number((b.conns?.length ?? 0) > 0) - Number((a.conns?.length ?? 0) > 0))
      : connectors;
  for (const c of holdingFirst) {
    if (!c.id || seen.has(c.id)) {
      skipped.connectors++;
      continue;
    }
    if (out.length >= ANSWER_LIMITS.connectorsPerTunnel) {
      cuts.connectors++;
      continue;
    }
    seen.add(c.id);
    const conns = c.conns ?? [];
    const connIds = new Set<string>();
    const connections = [];
    for (const x of conns) {
      if (!x.id || connIds.has(x.id)) {
        skipped.connections++;
        continue;
      }
      if (connections.length >= ANSWER_LIMITS.connectionsPerConnector) {
        cuts.connections++;
        continue;
      }
      connIds.add(x.id);
      let colo = bounded(x.colo_name, cuts);
      if (!colos.has(colo)) {
        if (colos.size < ANSWER_LIMITS.colosPerTunnel) colos.add(colo);
        else {
          cuts.colos++;
          colo = 'other';
        }
      }
      connections.push({ id: x.id, colo, flaggedPending: x.is_pending_reconnect === true });
    }
    const runAt = epochMs(c.run_at);
    const haStatus = c.ha_status && (HA_STATUSES as readonly string[]).includes(c.ha_status) ? (c.ha_status as HaStatus) : undefined;
    out.push({
      id: c.id,
      version: bounded(c.version ?? conns.find((x) => x.client_version)?.client_version ?? 'unknown', cuts),
      arch: bounded(c.arch ?? 'unknown', cuts),
      originIp: bounded(conns.find((x) => x.origin_ip)?.origin_ip ?? '', cuts),
      configVersion: typeof c.config_version === 'number' ? c.config_version : undefined,
      runAt,
      haStatus,
      connections,
    });
  }
  return { connectors: out, skipped, cuts };
}
