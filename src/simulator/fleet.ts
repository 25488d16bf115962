// The simulated fleet: Cloudflare accounts with tunnels, WARP connectors and Gateway proxy
// endpoints, and PostHog organizations with proxy records, in the APIs' own field names. A seeded
// generator makes the same fleet for the same seed; the mutation functions keep every field that
// describes a status consistent (tunnel status, connections, conns_* timestamps).

export type SimTunnelStatus = 'healthy' | 'degraded' | 'down' | 'inactive';
export type SimProxyStatus = 'waiting' | 'issuing' | 'valid' | 'warning' | 'erroring' | 'deleting' | 'timed_out';

export interface SimConnection {
  id: string;
  client_id: string;
  client_version: string;
  colo_name: string;
  is_pending_reconnect: boolean;
  opened_at: string;
  origin_ip: string;
  uuid: string;
}

export interface SimConnector {
  id: string;
  arch: string;
  config_version: number;
  conns: SimConnection[];
  features: string[];
  run_at: string;
  version: string;
  ha_status?: 'active' | 'passive' | 'offline';
}

export interface SimTunnel {
  id: string;
  account_tag: string;
  name: string;
  status: SimTunnelStatus;
  tun_type: 'cfd_tunnel' | 'warp_connector';
  config_src: 'local' | 'cloudflare';
  remote_config: boolean;
  created_at: string;
  deleted_at: string | null;
  conns_active_at: string | null;
  conns_inactive_at: string | null;
  metadata: Record<string, unknown>;
  connectors: SimConnector[];
}

export interface SimProxyEndpoint {
  id: string;
  name: string;
  kind: 'ip' | 'identity';
  ips?: string[];
  subdomain: string;
  created_at: string;
  updated_at: string;
}

export interface SimProxyRecord {
  id: string;
  domain: string;
  target_cname: string;
  status: SimProxyStatus;
  message: string | null;
  created_at: string;
  updated_at: string;
  created_by: { id: number; email: string };
}

export interface SimAccount {
  id: string;
  tunnels: SimTunnel[];
  proxyEndpoints: SimProxyEndpoint[];
}

export interface SimOrganization {
  id: string;
  maxProxyRecords: number;
  records: SimProxyRecord[];
}

export interface SimFleet {
  accounts: SimAccount[];
  organizations: SimOrganization[];
}

export interface FleetOptions {
  seed?: number;
  accounts?: number;
  tunnelsPerAccount?: number;
  warpConnectorsPerAccount?: number;
  deletedTunnelsPerAccount?: number;
  proxyEndpointsPerAccount?: number;
  organizations?: number;
  recordsPerOrganization?: number;
  /** The clock the generated timestamps are relative to (epoch ms). */
  now?: number;
}

/** mulberry32: small, fast and good enough for a deterministic fleet. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

export function uuid(random: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function hexId(random: Random): string {
  return Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
}

/** Real Cloudflare colo names as they appear in `colo_name`. */
export const COLOS = ['ams01', 'fra06', 'lhr01', 'cdg01', 'iad08', 'ord02', 'dfw08', 'sjc01', 'sea01', 'sin02', 'nrt01', 'syd05', 'gru02', 'jnb01', 'bom01'];
export const CLOUDFLARED_VERSIONS = ['2025.11.1', '2025.10.0', '2025.9.1', '2025.8.0', '2024.12.2'];
const ARCHES = ['linux_amd64', 'linux_arm64', 'darwin_arm64', 'windows_amd64'];
const TUNNEL_NAMES = ['api', 'web', 'grafana', 'ssh-bastion', 'k8s-ingress', 'admin', 'payments', 'docs', 'staging', 'ci-runner', 'metrics', 'auth', 'search', 'media', 'webhooks', 'intranet'];
const DOMAINS = ['ph.acme.io', 'e.shop.example', 'analytics.widgets.dev', 't.newsroom.example', 'ingest.saas.example', 'p.blog.example', 'm.travel.example', 'x.games.example'];

const iso = (ms: number) => new Date(ms).toISOString();

function connection(random: Random, connectorId: string, version: string, colo: string, originIp: string, openedAt: number): SimConnection {
  return {
    id: uuid(random),
    client_id: connectorId,
    client_version: version,
    colo_name: colo,
    is_pending_reconnect: false,
    opened_at: iso(openedAt),
    origin_ip: originIp,
    uuid: uuid(random),
  };
}

/** A cloudflared process: four connections spread over two colos, as cloudflared makes them. */
export function newConnector(random: Random, now: number, options: { version?: string; warp?: boolean; haStatus?: SimConnector['ha_status'] } = {}): SimConnector {
  const id = uuid(random);
  const version = options.version ?? pick(random, CLOUDFLARED_VERSIONS);
  const first = pick(random, COLOS);
  const second = pick(random, COLOS.filter((c) => c !== first));
  const originIp = `198.51.100.${1 + Math.floor(random() * 250)}`;
  const runAt = now - Math.floor(random() * 14 * 86_400_000);
  return {
    id,
    arch: pick(random, ARCHES),
    config_version: Math.floor(random() * 20),
    conns: [first, second, first, second].map((colo) => connection(random, id, version, colo, originIp, runAt)),
    features: ['ha-origin', 'serialized_headers'],
    run_at: iso(runAt),
    version,
    ...(options.warp ? { ha_status: options.haStatus ?? 'active' } : {}),
  };
}

function newTunnel(random: Random, accountId: string, index: number, type: SimTunnel['tun_type'], now: number): SimTunnel {
  const created = now - Math.floor((30 + random() * 600) * 86_400_000);
  const base = pick(random, TUNNEL_NAMES);
  return {
    id: uuid(random),
    account_tag: accountId,
    name: type === 'warp_connector' ? `warp-${base}-${index}` : `${base}-${index}`,
    status: 'inactive',
    tun_type: type,
    config_src: type === 'warp_connector' ? 'cloudflare' : random() < 0.6 ? 'cloudflare' : 'local',
    remote_config: false,
    created_at: iso(created),
    deleted_at: null,
    conns_active_at: null,
    conns_inactive_at: null,
    metadata: {},
    connectors: [],
  };
}

/** Puts a tunnel into a status, making connectors, connections and timestamps agree with it. */
export function setTunnelStatus(tunnel: SimTunnel, status: SimTunnelStatus, now: number, random: Random): void {
  const warp = tunnel.tun_type === 'warp_connector';
  const wasConnected = tunnel.status === 'healthy' || tunnel.status === 'degraded';
  const ensureConnectors = () => {
    if (tunnel.connectors.length === 0) {
      const count = warp ? 2 : 1 + Math.floor(random() * 3);
      tunnel.connectors = Array.from({ length: count }, (_, i) =>
        newConnector(random, now, warp ? { warp: true, haStatus: i === 0 ? 'active' : 'passive' } : {}),
      );
    }
  };
  switch (status) {
    case 'healthy':
      ensureConnectors();
      for (const c of tunnel.connectors) {
        for (const conn of c.conns) conn.is_pending_reconnect = false;
        if (c.ha_status === 'offline') c.ha_status = 'passive';
      }
      if (warp && !tunnel.connectors.some((c) => c.ha_status === 'active') && tunnel.connectors[0]) tunnel.connectors[0].ha_status = 'active';
      if (!wasConnected) tunnel.conns_active_at = iso(now);
      tunnel.conns_inactive_at = null;
      break;
    case 'degraded': {
      ensureConnectors();
      for (const c of tunnel.connectors) for (const conn of c.conns) conn.is_pending_reconnect = false;
      // Half of one connector's connections dropped and wait for a reconnect.
      const hit = tunnel.connectors[tunnel.connectors.length - 1] as SimConnector;
      hit.conns.forEach((conn, i) => {
        conn.is_pending_reconnect = i % 2 === 1;
      });
      if (!wasConnected) tunnel.conns_active_at = iso(now);
      tunnel.conns_inactive_at = null;
      break;
    }
    case 'down':
      ensureConnectors();
      for (const c of tunnel.connectors) {
        for (const conn of c.conns) conn.is_pending_reconnect = true;
        if (c.ha_status) c.ha_status = 'offline';
      }
      if (wasConnected || tunnel.conns_inactive_at === null) tunnel.conns_inactive_at = iso(now);
      break;
    case 'inactive':
      tunnel.connectors = [];
      if (wasConnected) tunnel.conns_inactive_at = iso(now);
      break;
  }
  tunnel.status = status;
}

/**
 * A token rotation: a new cloudflared replaces the oldest one, whose connections Cloudflare keeps
 * as pending reconnect. The old connector is stale until someone removes it.
 */
export function rotateConnector(tunnel: SimTunnel, now: number, random: Random): SimConnector | undefined {
  const old = tunnel.connectors[0];
  if (!old || tunnel.tun_type !== 'cfd_tunnel') return undefined;
  for (const conn of old.conns) conn.is_pending_reconnect = true;
  tunnel.connectors.push(newConnector(random, now, { version: CLOUDFLARED_VERSIONS[0] as string }));
  tunnel.status = 'degraded';
  return old;
}

/** What the tunnel's status should be from its connections, as Cloudflare derives it. */
export function deriveStatus(tunnel: SimTunnel): SimTunnelStatus {
  const conns = tunnel.connectors.flatMap((c) => c.conns);
  if (tunnel.connectors.length === 0) return tunnel.conns_active_at ? 'down' : 'inactive';
  const active = conns.filter((c) => !c.is_pending_reconnect).length;
  if (active === 0) return 'down';
  return active === conns.length ? 'healthy' : 'degraded';
}

export function setProxyRecordStatus(record: SimProxyRecord, status: SimProxyStatus, now: number): void {
  record.status = status;
  record.updated_at = iso(now);
  record.message =
    status === 'erroring'
      ? `CNAME for ${record.domain} does not point to ${record.target_cname}`
      : status === 'timed_out'
        ? 'Certificate issuance timed out after 24 hours'
        : status === 'warning'
          ? 'CAA record blocks certificate issuance by the proxy CA'
          : null;
}

const INITIAL_TUNNEL_STATUSES: SimTunnelStatus[] = ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'degraded', 'down', 'inactive'];
const INITIAL_RECORD_STATUSES: SimProxyStatus[] = ['valid', 'valid', 'valid', 'waiting', 'issuing', 'warning', 'erroring', 'timed_out', 'deleting'];

export function generateFleet(options: FleetOptions = {}): SimFleet {
  const random = createRandom(options.seed ?? 1);
  const now = options.now ?? Date.now();
  const accounts: SimAccount[] = [];
  for (let a = 0; a < (options.accounts ?? 2); a++) {
    const id = hexId(random);
    const tunnels: SimTunnel[] = [];
    const cfdCount = options.tunnelsPerAccount ?? 8;
    for (let i = 0; i < cfdCount; i++) {
      const t = newTunnel(random, id, i + 1, 'cfd_tunnel', now);
      // Every status appears in a fleet of eight or more; past that, a realistic mix.
      const status = i < INITIAL_TUNNEL_STATUSES.length ? (INITIAL_TUNNEL_STATUSES[i] as SimTunnelStatus) : pick(random, INITIAL_TUNNEL_STATUSES);
      if (status !== 'inactive') setTunnelStatus(t, 'healthy', now - 86_400_000, random);
      setTunnelStatus(t, status, now - Math.floor(random() * 3_600_000), random);
      tunnels.push(t);
    }
    for (let i = 0; i < (options.warpConnectorsPerAccount ?? 2); i++) {
      const t = newTunnel(random, id, i + 1, 'warp_connector', now);
      setTunnelStatus(t, 'healthy', now - 86_400_000, random);
      tunnels.push(t);
    }
    for (let i = 0; i < (options.deletedTunnelsPerAccount ?? 1); i++) {
      const t = newTunnel(random, id, cfdCount + i + 1, 'cfd_tunnel', now);
      t.name = `deleted-${t.name}`;
      t.deleted_at = new Date(now - 7 * 86_400_000).toISOString();
      tunnels.push(t);
    }
    const proxyEndpoints: SimProxyEndpoint[] = [];
    for (let i = 0; i < (options.proxyEndpointsPerAccount ?? 2); i++) {
      const kind = i % 2 === 0 ? 'ip' : 'identity';
      const created = iso(now - Math.floor(random() * 90 * 86_400_000));
      proxyEndpoints.push({
        id: hexId(random),
        name: kind === 'ip' ? `office-egress-${i + 1}` : `remote-users-${i + 1}`,
        kind,
        ...(kind === 'ip' ? { ips: Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => `203.0.113.${k * 64}/26`) } : {}),
        subdomain: hexId(random).slice(0, 10),
        created_at: created,
        updated_at: created,
      });
    }
    accounts.push({ id, tunnels, proxyEndpoints });
  }

  const organizations: SimOrganization[] = [];
  for (let o = 0; o < (options.organizations ?? 1); o++) {
    const id = uuid(random);
    const records: SimProxyRecord[] = [];
    const count = options.recordsPerOrganization ?? 9;
    for (let i = 0; i < count; i++) {
      const created = now - Math.floor((1 + random() * 200) * 86_400_000);
      const domain = i < DOMAINS.length ? (DOMAINS[i] as string) : `p${i}.${pick(random, DOMAINS)}`;
      const record: SimProxyRecord = {
        id: uuid(random),
        domain,
        target_cname: `${hexId(random).slice(0, 20)}.proxy-us.posthog.com`,
        status: 'valid',
        message: null,
        created_at: iso(created),
        updated_at: iso(created),
        created_by: { id: 1 + Math.floor(random() * 1000), email: `owner${o}@example.com` },
      };
      const status = i < INITIAL_RECORD_STATUSES.length ? (INITIAL_RECORD_STATUSES[i] as SimProxyStatus) : pick(random, INITIAL_RECORD_STATUSES);
      setProxyRecordStatus(record, status, created + Math.floor(random() * 3_600_000));
      records.push(record);
    }
    organizations.push({ id, maxProxyRecords: Math.max(count + 1, 10), records });
  }
  return { accounts, organizations };
}
