// Tunnels, connectors and tunnel reads as the list and the derivation leave them, for tests that build a snapshot by
// hand: nothing derived beyond what the test says.
import type { Connection, Connector, Tunnel, TunnelConnections } from '../../src/domain/types.js';

/** A connector holding `connections`, complete with them unless `overrides` say otherwise. */
export function derivedConnector(id: string, connections: Connection[], overrides: Partial<Connector> = {}): Connector {
  return {
    id,
    version: '2025.11.1',
    arch: 'linux_amd64',
    originIp: '',
    connections,
    expected: connections.length,
    early: [],
    counts: [connections.length],
    replaced: false,
    successorSeen: false,
    firstSeenAt: 0,
    gone: [],
    ...overrides,
  };
}

/** One tunnel's connections, read at `fetchedAt`. */
export function tunnelRead(tunnelId: string, connectors: Connector[], fetchedAt: number, overrides: Partial<TunnelConnections> = {}): TunnelConnections {
  return { tunnelId, connectors, reconnects: new Map(), replacements: 0, fetchedAt, fetched: true, ...overrides };
}

/** A listed cfd_tunnel of account `a`, named after its id, with what `extra` adds. */
export function listedTunnel(id: string, status: Tunnel['status'] = 'healthy', extra: Partial<Tunnel> = {}): Tunnel {
  return { accountId: 'a', id, name: id, type: 'cfd_tunnel', status, configSrc: 'cloudflare', ...extra };
}
