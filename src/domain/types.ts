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
  /** Absent when ROUTES_SCHEDULE is off. */
  routesSeconds?: number;
  /** Absent when CONFIGURATIONS_SCHEDULE is off. */
  configurationsSeconds?: number;
}

/** What remediation counts; the metrics layer implements it. */
export interface RemediationCounters {
  /** Creates the series of an enabled action at 0, so rates and alerts work before the first event. */
  enable(action: string, mode: 'dry_run' | 'live', skipReasons: readonly string[]): void;
  action(action: string, mode: 'dry_run' | 'live'): void;
  failure(action: string): void;
  skipped(action: string, reason: string): void;
  /** The recreated proxy records whose CNAME target changed: the user's DNS must follow. */
  dnsChangesRequired(changes: readonly { organizationId: string; domain: string; targetCname: string }[]): void;
  /** The proxy record domains deleted by a recreate and not created again yet (the journal). */
  recreatesPending(entries: readonly { organizationId: string; domain: string }[]): void;
  /** The remediation state file was corrupt at start-up. */
  stateFileCorrupt(path: string): void;
}

export const TUNNEL_STATUSES = ['healthy', 'degraded', 'down', 'inactive', 'unknown'] as const;
export type TunnelStatus = (typeof TUNNEL_STATUSES)[number];

export const HA_STATUSES = ['active', 'passive', 'offline'] as const;
export type HaStatus = (typeof HA_STATUSES)[number];

export const PROXY_RECORD_STATUSES = ['waiting', 'issuing', 'valid', 'warning', 'erroring', 'deleting', 'timed_out', 'unknown'] as const;
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
  /** The connection's id; a new id after a drop is a reconnect. */
  id: string;
  colo: string;
  /**
   * The API's own `is_pending_reconnect`. Cloudflare has removed the feature and reports false, so
   * this is almost always false; a connection flagged true is still counted as pending.
   */
  flaggedPending: boolean;
}

/** A connection that was there at an earlier poll and is gone now: pending reconnect in its colo. */
export interface GoneConnection {
  id: string;
  colo: string;
}

/** A new connection that came with no gap to fill while the connector held its count: an overlap. */
export interface EarlyConnection {
  id: string;
  colo: string;
  /** Reads it has waited for the drop it overlaps. */
  reads: number;
}

/** A connector as one connections call shows it. */
export interface ObservedConnector {
  id: string;
  version: string;
  arch: string;
  configVersion?: number;
  runAt?: number;
  haStatus?: HaStatus;
  originIp: string;
  connections: Connection[];
}

/** A connector with what successive polls say about it (see sources/tunnels/reconnects.ts). */
export interface Connector extends ObservedConnector {
  /** Connections it should hold: CLOUDFLARED_HA_CONNECTIONS, or learned from its recent reads. */
  expected: number;
  /** Connections gone since an earlier poll and not yet replaced, oldest first. */
  gone: GoneConnection[];
  /** New connections that arrived before the drop they overlap. */
  early: EarlyConnection[];
  /** Connections held at its recent reads, overlaps left out (what a learned count is made of). */
  counts: number[];
  /** Empty while a later-started connector of the tunnel holds connections: taken over. */
  replaced: boolean;
  /** Replaced, and its successor first appeared after it: the exporter watched the takeover. */
  successorSeen: boolean;
  /** When this process first read the connector. */
  firstSeenAt: number;
}

export interface TunnelConnections {
  tunnelId: string;
  connectors: Connector[];
  /** Reconnects this process has counted, per colo of the connection that was replaced. */
  reconnects: ReadonlyMap<string, number>;
  /** Connector takeovers this process has counted (restarts, updates, reschedules). */
  replacements: number;
  /** When these connectors were read from the API, or decided without a call (see `fetched`). */
  fetchedAt: number;
  /** False when the tunnel's status means it has no connections and no call was made. */
  fetched: boolean;
  /** Set when this tunnel's latest read failed: the data is from the read before. */
  error?: string;
}

export interface ProxyEndpoint {
  accountId: string;
  id: string;
  name: string;
  kind: string;
  subdomain: string;
  ipRanges: number;
}

/**
 * Limits Cloudflare documents per account and no API reports: Cloudflare One's "Account limits"
 * page (developers.cloudflare.com/cloudflare-one/account-limits/) gives 1,000 cloudflared tunnels,
 * 10 WARP Connectors and 1,000 routes (CIDR and hostname routes together) per account; 100
 * connections per tunnel (25 replicas of 4) is Cloudflare's answer on "Active connections per
 * tunnel" in its community forum. Raised limits are set with CLOUDFLARE_ACCOUNT_LIMITS.
 */
export const ACCOUNT_RESOURCES = ['cfd_tunnels', 'warp_connectors', 'routes', 'connections_per_tunnel'] as const;
export type AccountResource = (typeof ACCOUNT_RESOURCES)[number];
export type AccountLimits = Readonly<Record<AccountResource, number>>;
export const DOCUMENTED_LIMITS: AccountLimits = { cfd_tunnels: 1000, warp_connectors: 10, routes: 1000, connections_per_tunnel: 100 };

/** An ingress rule of a remotely managed tunnel that serves a public hostname (the catch-all has none). */
export interface IngressRule {
  hostname: string;
  /** The path pattern the rule matches; empty for every path. */
  path: string;
}

export const WARP_HA_MODES = ['none', 'disabled', 'aws', 'local', 'unknown'] as const;
export type WarpHaMode = (typeof WARP_HA_MODES)[number];

/**
 * A tunnel's configuration as last read: a remotely managed cfd_tunnel's ingress and `version`
 * (GET cfd_tunnel/{t}/configurations), or a WARP Connector's `ha_mode` and `configuration_version`
 * (GET warp_connector/{t}/configurations).
 */
export interface TunnelConfiguration {
  tunnelId: string;
  version: number;
  /** cfd_tunnel: the rules with a hostname. */
  ingress?: IngressRule[];
  /** warp_connector: its high-availability mode. */
  haMode?: WarpHaMode;
  /** When it was read (steady clock). */
  fetchedAt: number;
  /** Set when the latest read failed: the data is from the read before. */
  error?: string;
}

/** Tunnels with a configuration to read: remotely managed cfd_tunnels and WARP Connectors. A locally managed tunnel's lives on its host. */
export function hasConfiguration(tunnel: Tunnel): boolean {
  return tunnel.type === 'warp_connector' || tunnel.configSrc === 'cloudflare';
}

/** A private network route (teamnet/routes), deleted ones left out. */
export interface PrivateRoute {
  accountId: string;
  id: string;
  network: string;
  /** The virtual network's name as the routes list gives it. */
  virtualNetwork: string;
  tunnelId: string;
  comment: string;
}

/** A hostname route (zerotrust/routes/hostname), deleted ones left out. */
export interface HostnameRoute {
  accountId: string;
  id: string;
  hostname: string;
  tunnelId: string;
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

/**
 * The one definition of an active connection: held now, not flagged pending by the API (the flag
 * is dead, but a connection still flagged counts as pending). Everything that counts active
 * connections (the metrics, the reconnect derivation, the remediation's re-read) goes through these.
 */
export function isActive(connection: Connection): boolean {
  return !connection.flaggedPending;
}

/** Connections the connector holds now. */
export function activeConnections(connector: ObservedConnector): number {
  let n = 0;
  for (const c of connector.connections) if (isActive(c)) n++;
  return n;
}

/** Connections the connector is missing against what it should hold; none once replaced. */
export function missingConnections(connector: Connector): number {
  return connector.replaced ? 0 : Math.max(0, connector.expected - activeConnections(connector));
}

/** Per colo of one tunnel: connections held now, pending reconnect (derived or flagged), reconnects. */
export interface ColoCounts {
  active: number;
  pending: number;
  reconnects: number;
}

export function countByColo(data: TunnelConnections): Map<string, ColoCounts> {
  const out = new Map<string, ColoCounts>();
  const at = (colo: string) => {
    let counts = out.get(colo);
    if (!counts) {
      counts = { active: 0, pending: 0, reconnects: 0 };
      out.set(colo, counts);
    }
    return counts;
  };
  for (const connector of data.connectors) {
    for (const c of connector.connections) {
      if (c.flaggedPending) at(c.colo).pending++;
      else at(c.colo).active++;
    }
    for (const g of connector.gone) at(g.colo).pending++;
  }
  for (const [colo, n] of data.reconnects) at(colo).reconnects = n;
  return out;
}

/**
 * Cloudflare keeps tracking a down tunnel's connectors for a while after the disconnect; past this
 * window a down tunnel is not asked for connections.
 */
export const RECENTLY_DOWN_MS = 30 * 60_000;

/** Whether a tunnel's status means it can have connectors worth an API call. */
export function needsConnectionsCall(tunnel: Tunnel, now: number): boolean {
  if (tunnel.status === 'inactive') return false;
  if (tunnel.status === 'down') {
    return tunnel.connsInactiveAt === undefined || now - tunnel.connsInactiveAt <= RECENTLY_DOWN_MS;
  }
  return true;
}
