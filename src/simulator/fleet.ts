// The simulated fleet: Cloudflare accounts with tunnels, WARP connectors and Gateway proxy
// endpoints, and PostHog organizations with proxy records, in the APIs' own field names. A seeded
// generator makes the same fleet for the same seed; the mutation functions keep every field that
// describes a status consistent (tunnel status, connections, conns_* timestamps).

import { createHash } from 'node:crypto';

export type SimTunnelStatus = 'healthy' | 'degraded' | 'down' | 'inactive';
export type SimProxyStatus = 'waiting' | 'issuing' | 'valid' | 'warning' | 'erroring' | 'deleting' | 'timed_out';

/**
 * One HA connection. `is_pending_reconnect` is always false, as Cloudflare reports it since the
 * feature was removed; a dropped connection is simply gone from `conns`. `uuid` is the `id` again,
 * as the API reports it. WARP connector connections carry neither that field nor `uuid` (the
 * official SDK's WARP types have neither).
 */
export interface SimConnection {
  id: string;
  client_id: string;
  client_version: string;
  colo_name: string;
  is_pending_reconnect?: false;
  opened_at: string;
  origin_ip: string;
  uuid?: string;
}

/** A connector; WARP connectors carry `ha_status` and no `config_version`. */
export interface SimConnector {
  id: string;
  arch: string;
  config_version?: number;
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
  /** cfd_tunnel only: WARP Connector tunnels carry neither field. */
  config_src?: 'local' | 'cloudflare';
  remote_config?: boolean;
  created_at: string;
  deleted_at: string | null;
  conns_active_at: string | null;
  conns_inactive_at: string | null;
  metadata: Record<string, unknown>;
  connectors: SimConnector[];
  /** Remotely managed cfd_tunnel: the configuration the API serves and pushes to its connectors. */
  configuration?: SimTunnelConfiguration;
  /** WARP Connector: its configuration (ha_mode). */
  warpConfiguration?: SimWarpConfiguration;
}

/** An ingress rule as the configurations endpoint gives it; the last one is the catch-all, with no hostname. */
export interface SimIngressRule {
  hostname?: string;
  path?: string;
  service: string;
}

export interface SimTunnelConfiguration {
  version: number;
  ingress: SimIngressRule[];
  created_at: string;
}

export interface SimWarpConfiguration {
  configuration_version: number;
  ha_mode: 'none' | 'disabled' | 'aws' | 'local';
  created_at: string;
  updated_at: string | null;
}

/** A private network route (teamnet/routes), as the list gives it: with its tunnel's and virtual network's names. */
export interface SimRoute {
  id: string;
  network: string;
  tunnel_id: string;
  tunnel_name: string;
  tun_type: 'cfd_tunnel' | 'warp_connector';
  virtual_network_id: string;
  virtual_network_name: string;
  comment: string;
  created_at: string;
  deleted_at: string | null;
}

export interface SimHostnameRoute {
  id: string;
  hostname: string;
  tunnel_id: string;
  tunnel_name: string;
  tun_type: 'cfd_tunnel' | 'warp_connector';
  comment: string;
  created_at: string;
  deleted_at: string | null;
}

export interface SimVirtualNetwork {
  id: string;
  name: string;
  is_default_network: boolean;
  comment: string;
  created_at: string;
  deleted_at: string | null;
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
  /** The creating user's id: PostHog serializes the foreign key as an integer. */
  created_by: number | null;
  /** Where the proxy sends a request for `/`; null when unset. */
  root_redirect_url: string | null;
}

export interface SimAccount {
  id: string;
  tunnels: SimTunnel[];
  proxyEndpoints: SimProxyEndpoint[];
  routes: SimRoute[];
  hostnameRoutes: SimHostnameRoute[];
  virtualNetworks: SimVirtualNetwork[];
  /** Endpoints the demo token may not read in this account (answered 403, code 10000). */
  forbidden: ('routes' | 'hostname_routes')[];
}

export interface SimOrganization {
  id: string;
  /** PostHog's quota on creating records (2 without the billing feature); existing ones stay. */
  maxProxyRecords: number;
  records: SimProxyRecord[];
}

export interface SimFleet {
  accounts: SimAccount[];
  organizations: SimOrganization[];
  /** The base of new `target_cname`s; PostHog's changes when its proxy provider does. */
  proxyBaseCname: string;
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
  /** `max_proxy_records`; PostHog's default without the billing feature is 2. */
  maxProxyRecords?: number;
  /** The clock the generated timestamps are relative to (epoch ms). */
  now?: number;
  /** The account (by index) whose routes and hostname routes the token may not read. */
  routesForbiddenIn?: number;
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

function pick<T>(random: Random, items: readonly T[]): T {
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
const COLOS = ['ams01', 'fra06', 'lhr01', 'cdg01', 'iad08', 'ord02', 'dfw08', 'sjc01', 'sea01', 'sin02', 'nrt01', 'syd05', 'gru02', 'jnb01', 'bom01'];
const CLOUDFLARED_VERSIONS = ['2025.11.1', '2025.10.0', '2025.9.1', '2025.8.0', '2024.12.2'];
const ARCHES = ['linux_amd64', 'linux_arm64', 'darwin_arm64', 'windows_amd64'];
const TUNNEL_NAMES = [
  'api',
  'web',
  'grafana',
  'ssh-bastion',
  'k8s-ingress',
  'admin',
  'payments',
  'docs',
  'staging',
  'ci-runner',
  'metrics',
  'auth',
  'search',
  'media',
  'webhooks',
  'intranet',
];
const DOMAINS = [
  'ph.acme.io',
  'e.shop.example',
  'analytics.widgets.dev',
  't.newsroom.example',
  'ingest.saas.example',
  'p.blog.example',
  'm.travel.example',
  'x.games.example',
];

const iso = (ms: number) => new Date(ms).toISOString();

/** PostHog's production base; its `target_cname` values end with the DNS root's dot. */
const DEFAULT_PROXY_BASE_CNAME = 'proxy-us.posthog.com.';

/** The features cloudflared reports by default (cloudflared features/features.go, defaultFeatures). */
const CLOUDFLARED_FEATURES = ['allow_remote_config', 'serialized_headers', 'support_datagram_v2', 'support_quic_eof', 'management_logs'];

/**
 * PostHog derives a record's CNAME target from the organization and the domain (a hash) under a
 * base that depends on its proxy provider, so a record recreated for the same domain gets the same
 * target unless that base has changed.
 */
export function targetCname(organizationId: string, domain: string, base: string): string {
  return `${createHash('sha256').update(organizationId).update(domain).digest('hex').slice(0, 20)}.${base}`;
}

/** cloudflared's default `--ha-connections`. */
const HA_CONNECTIONS = 4;

/** The two colos a connector's connections alternate between (kept so refills land there again). */
const connectorColos = new WeakMap<SimConnector, [string, string]>();
const connectorOrigin = new WeakMap<SimConnector, string>();
/**
 * What each cloudflared runs with: its `--ha-connections`, and the slots the edge never gives it
 * (a region unreachable at start): it holds `ha - refused` and retries the rest forever.
 */
const connectorSlots = new WeakMap<SimConnector, { ha: number; refused: number }>();
/** Connectors that held connections once: a refill after that is a reconnect. */
const filledOnce = new WeakSet<SimConnector>();
/** Connectors left empty by a restart, and when: they leave the list a while later. */
const leftByRestart = new WeakMap<SimConnector, number>();

/** A stable number from an id, for choices that must not shift the seeded stream. */
function idHash(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0);
}

/** The connections a connector holds when nothing is wrong: its --ha-connections less refused slots. */
function heldWhenWell(connector: SimConnector): number {
  const slots = connectorSlots.get(connector) ?? { ha: HA_CONNECTIONS, refused: 0 };
  return slots.ha - slots.refused;
}

function connection(random: Random, connector: SimConnector, colo: string, openedAt: number): SimConnection {
  const id = uuid(random);
  return {
    id,
    client_id: connector.id,
    client_version: connector.version,
    colo_name: colo,
    ...(connector.ha_status === undefined ? { is_pending_reconnect: false as const } : {}),
    opened_at: iso(openedAt),
    origin_ip: connectorOrigin.get(connector) ?? '198.51.100.1',
    ...(connector.ha_status === undefined ? { uuid: id } : {}),
  };
}

/** A cloudflared process: four connections spread over two colos, as cloudflared makes them. */
export function newConnector(
  random: Random,
  now: number,
  options: { version?: string; warp?: boolean; haStatus?: SimConnector['ha_status']; startedAt?: number; ha?: number; refused?: number } = {},
): SimConnector {
  const version = options.version ?? pick(random, CLOUDFLARED_VERSIONS);
  const first = pick(random, COLOS);
  const second = pick(
    random,
    COLOS.filter((c) => c !== first),
  );
  const runAt = options.startedAt ?? now - Math.floor(random() * 14 * 86_400_000);
  const connector: SimConnector = {
    id: uuid(random),
    arch: pick(random, ARCHES),
    ...(options.warp ? {} : { config_version: Math.floor(random() * 20) }),
    conns: [],
    features: options.warp ? [] : [...CLOUDFLARED_FEATURES],
    run_at: iso(runAt),
    version,
    ...(options.warp ? { ha_status: options.haStatus ?? 'active' } : {}),
  };
  connectorColos.set(connector, [first, second]);
  connectorOrigin.set(connector, `198.51.100.${1 + Math.floor(random() * 250)}`);
  if (!options.warp) {
    // Some run --ha-connections 2, and some never get one of their slots: chosen by the id, so
    // the seeded stream (and every fleet drawn from it) stays as it was.
    const h = idHash(connector.id) % 10;
    connectorSlots.set(connector, { ha: options.ha ?? (h === 0 ? 2 : HA_CONNECTIONS), refused: options.refused ?? (h === 1 ? 1 : 0) });
  }
  refillConnections(connector, runAt, random);
  return connector;
}

/** A cloudflared that starts for a remotely managed tunnel is sent its current configuration. */
function configured(tunnel: SimTunnel, connector: SimConnector): SimConnector {
  if (tunnel.configuration) connector.config_version = tunnel.configuration.version;
  return connector;
}

/**
 * The tunnel's configuration changes (a hostname added in the dashboard): a new version, which
 * every connector applies at once except `slow`, which stays on the old one until it catches up.
 */
export function changeConfiguration(tunnel: SimTunnel, now: number, slow?: SimConnector): number | undefined {
  const configuration = tunnel.configuration;
  if (!configuration) return undefined;
  configuration.version++;
  const rules = configuration.ingress.filter((r) => r.hostname);
  const hostname = `${tunnel.name}-v${configuration.version}.example.com`;
  configuration.ingress = [...rules.slice(-2), { hostname, service: 'http://localhost:8080' }, { service: 'http_status:404' }];
  configuration.created_at = iso(now);
  for (const c of tunnel.connectors) if (c !== slow) c.config_version = configuration.version;
  return configuration.version;
}

/** Drops `count` of the connector's connections (the newest first); they are gone from `conns`. */
export function dropConnections(connector: SimConnector, count: number): SimConnection[] {
  return connector.conns.splice(Math.max(0, connector.conns.length - count), count);
}

/**
 * The connector reconnects up to what it holds when well: each new connection has a new id, and
 * now and then lands in another colo (anycast, address rotation), where it then stays.
 */
export function refillConnections(connector: SimConnector, now: number, random: Random): number {
  const colos = connectorColos.get(connector) ?? [connector.conns[0]?.colo_name ?? COLOS[0], COLOS[1]];
  const reconnecting = filledOnce.has(connector);
  filledOnce.add(connector);
  let added = 0;
  while (connector.conns.length < heldWhenWell(connector)) {
    const slot = connector.conns.length % 2;
    const c = connection(random, connector, colos[slot] as string, now);
    const h = idHash(c.id);
    if (reconnecting && h % 4 === 0) {
      c.colo_name = COLOS[(h >>> 2) % COLOS.length] as string;
      colos[slot] = c.colo_name;
    }
    connector.conns.push(c);
    added++;
  }
  return added;
}

/**
 * A restart (the daily auto-update, a crash, a rescheduled pod): cloudflared starts as a new
 * connector id; the old one stays listed without connections for a while (ageOutRestarted).
 */
export function restartConnector(tunnel: SimTunnel, now: number, random: Random, options: { update?: boolean } = {}): SimConnector | undefined {
  const old = tunnel.connectors.find((c) => c.conns.length > 0);
  if (!old || tunnel.tun_type !== 'cfd_tunnel') return undefined;
  dropConnections(old, old.conns.length);
  leftByRestart.set(old, now);
  const slots = connectorSlots.get(old);
  tunnel.connectors.push(
    configured(
      tunnel,
      newConnector(random, now, {
        version: options.update ? (CLOUDFLARED_VERSIONS[0] as string) : old.version,
        startedAt: now,
        ...(slots ? { ha: slots.ha, refused: slots.refused } : {}),
      }),
    ),
  );
  tunnel.status = deriveStatus(tunnel);
  return old;
}

/** Connectors a restart left empty leave the list `afterMs` later (unless cleaned up first). */
export function ageOutRestarted(tunnel: SimTunnel, now: number, afterMs: number): SimConnector[] {
  const gone = tunnel.connectors.filter((c) => c.conns.length === 0 && (leftByRestart.get(c) ?? Infinity) <= now - afterMs);
  if (gone.length > 0) {
    tunnel.connectors = tunnel.connectors.filter((c) => !gone.includes(c));
    tunnel.status = deriveStatus(tunnel);
  }
  return gone;
}

/**
 * One slot reconnects and the API lists both for a read: the new connection joins first; the old
 * one, returned, goes at the next step (dropConnection).
 */
export function overlapReconnect(connector: SimConnector, now: number, random: Random): SimConnection | undefined {
  const old = connector.conns[0];
  if (!old) return undefined;
  connector.conns.push(connection(random, connector, old.colo_name, now));
  return old;
}

/** Drops one connection by identity. */
export function dropConnection(connector: SimConnector, gone: SimConnection): void {
  connector.conns = connector.conns.filter((c) => c !== gone);
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
    ...(type === 'warp_connector'
      ? {}
      : (() => {
          const src = random() < 0.6 ? ('cloudflare' as const) : ('local' as const);
          return { config_src: src, remote_config: src === 'cloudflare' };
        })()),
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
        configured(tunnel, newConnector(random, now, warp ? { warp: true, haStatus: i === 0 ? 'active' : 'passive' } : {})),
      );
    }
  };
  switch (status) {
    case 'healthy':
      ensureConnectors();
      for (const c of tunnel.connectors) {
        refillConnections(c, now, random);
        if (c.ha_status === 'offline') c.ha_status = 'passive';
      }
      if (warp && !tunnel.connectors.some((c) => c.ha_status === 'active') && tunnel.connectors[0]) tunnel.connectors[0].ha_status = 'active';
      if (!wasConnected) tunnel.conns_active_at = iso(now);
      tunnel.conns_inactive_at = null;
      break;
    case 'degraded': {
      ensureConnectors();
      for (const c of tunnel.connectors) refillConnections(c, now, random);
      // Half of one connector's connections dropped; they are gone from the answer.
      const last = tunnel.connectors[tunnel.connectors.length - 1] as SimConnector;
      dropConnections(last, Math.max(1, Math.floor(heldWhenWell(last) / 2)));
      if (!wasConnected) tunnel.conns_active_at = iso(now);
      tunnel.conns_inactive_at = null;
      break;
    }
    case 'down':
      ensureConnectors();
      // The connectors stay listed for a while, holding no connection.
      for (const c of tunnel.connectors) {
        dropConnections(c, c.conns.length);
        if (c.ha_status) c.ha_status = 'offline';
      }
      if (wasConnected || tunnel.conns_inactive_at === null) tunnel.conns_inactive_at = iso(now);
      break;
    case 'inactive':
      tunnel.connectors = [];
      if (wasConnected) tunnel.conns_inactive_at = iso(now);
      break;
  }
  // Cloudflare reports inactive only for a tunnel that never ran; one that ran and lost its
  // connectors is down.
  tunnel.status = status === 'inactive' && tunnel.conns_active_at !== null ? 'down' : status;
}

/**
 * A token rotation: a new cloudflared replaces the oldest one, which loses its connections but
 * stays listed. The old connector is stale until someone removes it.
 */
export function rotateConnector(tunnel: SimTunnel, now: number, random: Random): SimConnector | undefined {
  const old = tunnel.connectors[0];
  if (!old || tunnel.tun_type !== 'cfd_tunnel') return undefined;
  dropConnections(old, old.conns.length);
  // The new cloudflared started just now: a new connector id with a new run_at.
  tunnel.connectors.push(
    configured(tunnel, newConnector(random, now, { version: CLOUDFLARED_VERSIONS[0] as string, startedAt: now, ha: HA_CONNECTIONS, refused: 0 })),
  );
  tunnel.status = 'degraded';
  return old;
}

/** What the tunnel's status should be from its connections, as Cloudflare derives it. */
export function deriveStatus(tunnel: SimTunnel): SimTunnelStatus {
  if (tunnel.connectors.length === 0) return tunnel.conns_active_at ? 'down' : 'inactive';
  if (tunnel.connectors.every((c) => c.conns.length === 0)) return 'down';
  return tunnel.connectors.every((c) => c.conns.length >= (connectorSlots.get(c)?.ha ?? HA_CONNECTIONS)) ? 'healthy' : 'degraded';
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
    accounts.push({ id, tunnels, proxyEndpoints, routes: [], hostnameRoutes: [], virtualNetworks: [], forbidden: [] });
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
        target_cname: targetCname(id, domain, DEFAULT_PROXY_BASE_CNAME),
        status: 'valid',
        message: null,
        created_at: iso(created),
        updated_at: iso(created),
        created_by: 1 + Math.floor(random() * 1000),
        root_redirect_url: i % 3 === 0 ? `https://${domain.split('.').slice(1).join('.')}` : null,
      };
      const status = i < INITIAL_RECORD_STATUSES.length ? (INITIAL_RECORD_STATUSES[i] as SimProxyStatus) : pick(random, INITIAL_RECORD_STATUSES);
      setProxyRecordStatus(record, status, created + Math.floor(random() * 3_600_000));
      records.push(record);
    }
    organizations.push({ id, maxProxyRecords: options.maxProxyRecords ?? 2, records });
  }
  // From a stream of its own, so the fleet above is what it was before routes and configurations existed.
  const wiring = createRandom((options.seed ?? 1) ^ 0x0c0f1e);
  for (const account of accounts) addNetworks(account, wiring, now);
  const denied = options.routesForbiddenIn === undefined ? undefined : accounts[options.routesForbiddenIn];
  if (denied) denied.forbidden = ['routes', 'hostname_routes'];
  return { accounts, organizations, proxyBaseCname: DEFAULT_PROXY_BASE_CNAME };
}

/**
 * What the tunnels carry: a remotely managed tunnel's ingress (one to three public hostnames and
 * the catch-all) and version, which its connectors run; a WARP Connector's ha_mode; two virtual
 * networks, a private route per tunnel in one of them (one more deleted), and a hostname route
 * for a few tunnels. Routes to tunnels that are down are part of it: that is what they take down.
 */
function addNetworks(account: SimAccount, random: Random, now: number): void {
  const created = iso(now - 90 * 86_400_000);
  const vnets: SimVirtualNetwork[] = [
    { id: uuid(random), name: 'default', is_default_network: true, comment: 'Created automatically', created_at: created, deleted_at: null },
    { id: uuid(random), name: 'staging', is_default_network: false, comment: 'Staging VPC', created_at: created, deleted_at: null },
  ];
  account.virtualNetworks = vnets;
  const live = account.tunnels.filter((t) => t.deleted_at === null);
  // A tunnel down from the start serves public hostnames: the demo shows what it takes down.
  const down = live.find((t) => t.tun_type === 'cfd_tunnel' && t.status === 'down');
  if (down) Object.assign(down, { config_src: 'cloudflare', remote_config: true });
  live.forEach((t, i) => {
    if (t.config_src === 'cloudflare') {
      const version = Math.max(1, ...t.connectors.map((c) => c.config_version ?? 0));
      const hosts = 1 + (i % 3);
      const ingress: SimIngressRule[] = Array.from({ length: hosts }, (_, h) => ({
        hostname: h === 0 ? `${t.name}.example.com` : `${t.name}-${h}.example.com`,
        ...(h === 2 ? { path: '^/api/' } : {}),
        service: `http://localhost:${8000 + h}`,
      }));
      ingress.push({ service: 'http_status:404' });
      t.configuration = { version, ingress, created_at: created };
      for (const c of t.connectors) c.config_version = version;
    }
    if (t.tun_type === 'warp_connector') {
      t.warpConfiguration = {
        configuration_version: 1 + Math.floor(random() * 5),
        ha_mode: i % 2 === 0 ? 'local' : 'none',
        created_at: created,
        updated_at: null,
      };
    }
    // Cloudflare allows 1,000 routes per account, CIDR and hostname routes together (one kept for the deleted one).
    if (account.routes.length + account.hostnameRoutes.length >= 998) return;
    const vnet = vnets[i % 2] as SimVirtualNetwork;
    account.routes.push({
      id: uuid(random),
      network: `10.${(i * 16) % 256}.0.0/16`,
      tunnel_id: t.id,
      tunnel_name: t.name,
      tun_type: t.tun_type,
      virtual_network_id: vnet.id,
      virtual_network_name: vnet.name,
      comment: `${t.name} network`,
      created_at: created,
      deleted_at: null,
    });
    if (i % 3 === 0) {
      account.hostnameRoutes.push({
        id: uuid(random),
        hostname: `${t.name}.internal.example`,
        tunnel_id: t.id,
        tunnel_name: t.name,
        tun_type: t.tun_type,
        comment: '',
        created_at: created,
        deleted_at: null,
      });
    }
  });
  const first = live[0];
  if (first) {
    account.routes.push({
      ...(account.routes[0] as SimRoute),
      id: uuid(random),
      network: '192.168.99.0/24',
      comment: 'retired',
      deleted_at: iso(now - 86_400_000),
    });
  }
}
