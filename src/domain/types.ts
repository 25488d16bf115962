// The exporter's domain: the normalized data pollers produce and the store keeps, and the few
// contracts several layers share (poll intervals, remediation counters). Every layer may import
// this module; it imports none of them. Timestamps are epoch milliseconds; absent means the API
// reported none.

export const TUNNEL_TYPES = ['cfd_tunnel', 'warp_connector'] as const;
export type TunnelType = (typeof TUNNEL_TYPES)[number];

/** Seconds between two polls of each source, from the configured schedules. */
export interface PollIntervals {
  tunnelsSeconds: number;
  gatewaySeconds: number;
  proxyRecordsSeconds: number;
}

/** What remediation counts; the metrics layer implements it. */
export interface RemediationCounters {
  /** Creates the series of an enabled action at 0, so rates and alerts work before the first event. */
  enable(action: string, mode: 'dry_run' | 'live', skipReasons: readonly string[]): void;
  action(action: string, mode: 'dry_run' | 'live'): void;
  failure(action: string): void;
  skipped(action: string, reason: string): void;
}

export const TUNNEL_STATUSES = ['healthy', 'degraded', 'down', 'inactive', 'unknown'] as const;
export type TunnelStatus = (typeof TUNNEL_STATUSES)[number];

export const HA_STATUSES = ['active', 'passive', 'offline'] as const;
export type HaStatus = (typeof HA_STATUSES)[number];

export const PROXY_RECORD_STATUSES = [
  'waiting',
  'issuing',
  'valid',
  'warning',
  'erroring',
  'deleting',
  'timed_out',
  'unknown',
] as const;
export type ProxyRecordStatus = (typeof PROXY_RECORD_STATUSES)[number];

export interface Tunnel {
  accountId: string;
  id: string;
  name: string;
  type: TunnelType;
  status: TunnelStatus;
  configSrc: string;
  createdAt?: number;
  connsActiveAt?: number;
  connsInactiveAt?: number;
}

export interface Connection {
  colo: string;
  /** Cloudflare still tracks the connection after a disconnect, waiting for the connector to come back. */
  pendingReconnect: boolean;
  originIp?: string;
}

export interface Connector {
  id: string;
  version: string;
  arch: string;
  configVersion?: number;
  runAt?: number;
  haStatus?: HaStatus;
  originIp: string;
  connections: Connection[];
}

export interface TunnelConnections {
  tunnelId: string;
  connectors: Connector[];
  /** When these connectors were read from the API, or decided without a call (see `fetched`). */
  fetchedAt: number;
  /** False when the tunnel's status means it has no connections and no call was made. */
  fetched: boolean;
}

export interface ProxyEndpoint {
  accountId: string;
  id: string;
  name: string;
  kind: string;
  subdomain: string;
  ipRanges: number;
}

export interface ProxyRecord {
  organizationId: string;
  id: string;
  domain: string;
  targetCname: string;
  status: ProxyRecordStatus;
  message?: string;
  createdAt?: number;
  updatedAt?: number;
}

export interface ProxyRecords {
  records: ProxyRecord[];
  maxProxyRecords?: number;
}

export function activeConnections(connector: Connector): number {
  return connector.connections.filter((c) => !c.pendingReconnect).length;
}
