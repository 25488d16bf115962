// The simulated Cloudflare v4 API: envelopes and error codes, page-number pagination, deleted
// tunnels left out unless `is_deleted=true` asks for them (the live API since December 2025), the
// combined `/tunnels?tun_types=` list (comma list or repeated parameter, as the official SDK sends
// it), one connector by id, DELETE without client_id removing every connector, and a
// per-credential rate limit with Ratelimit headers and a 429 lockout.
import type http from 'node:http';
import { deriveStatus, type SimAccount, type SimFleet, type SimTunnel } from './fleet.js';
import type { CloudflarePath } from './paths.js';
import { cfError, cfOk, type Reply } from './reply.js';

export interface CloudflareApiOptions {
  fleet: SimFleet;
  now: () => number;
  credentials: { cloudflareToken: string; cloudflareEmail: string; cloudflareKey: string; readOnlyCloudflareToken: string };
  /** Requests per window per credential (Cloudflare: 1200 per 300 s). */
  rateLimit?: { limit: number; windowSeconds: number; lockoutSeconds?: number };
  /** Largest per_page the list endpoints honour (Cloudflare's tunnel lists: 1000). */
  perPageCap?: number;
  /** Some Cloudflare list endpoints ignore `page`; simulate one that does. */
  ignorePage?: boolean;
}

export interface Routed {
  reply: Reply;
  rateHeaders?: Record<string, string>;
}

/** A tunnel as the API lists it: the deprecated connections[] field present but empty, as newer responses have it. */
export function tunnelView(t: SimTunnel) {
  const { connectors: _connectors, configuration: _configuration, warpConfiguration: _warp, ...rest } = t;
  return { ...rest, connections: [] };
}

const ALL_TUN_TYPES = ['cfd_tunnel', 'warp_connector', 'ip_sec', 'gre', 'cni'];
const CONNECTOR_TYPES = new Set(['cfd_tunnel', 'warp_connector']);

export class CloudflareApi {
  private readonly buckets = new Map<string, { windowStart: number; used: number; lockedUntil: number }>();

  constructor(private readonly o: CloudflareApiOptions) {}

  resetRateLimit(): void {
    this.buckets.clear();
  }

  handle(req: http.IncomingMessage, path: CloudflarePath, url: URL): Routed {
    const credential = this.credentialOf(req);
    if (!credential) return { reply: cfError(403, 10000, 'Authentication error') };
    const limited = this.rateLimit(credential.id);
    if (limited.reply) return { reply: limited.reply, rateHeaders: limited.headers };
    return { reply: this.route(req.method ?? 'GET', path, url, credential.write), rateHeaders: limited.headers };
  }

  private route(method: string, path: CloudflarePath, url: URL, write: boolean): Reply {
    const { resource, id, sub, rest } = path;
    const account = path.accountId ? this.o.fleet.accounts.find((a) => a.id === path.accountId) : undefined;
    const noRoute = cfError(404, 7003, `Could not route to ${url.pathname}, perhaps your object identifier is invalid?`);
    if (!account || rest.length > (sub === 'connectors' ? 1 : 0)) return noRoute;
    if (CONNECTOR_TYPES.has(resource ?? '') && !id && method === 'GET') return this.listTunnels(account, url.searchParams, [resource as string]);
    if (resource === 'tunnels' && !id && method === 'GET') {
      // A comma list (the API reference) or the parameter repeated (the official SDK).
      const asked = url.searchParams
        .getAll('tun_types')
        .flatMap((v) => v.split(','))
        .filter(Boolean);
      return this.listTunnels(account, url.searchParams, asked.length > 0 ? asked : ALL_TUN_TYPES);
    }
    const tunnel = CONNECTOR_TYPES.has(resource ?? '') && id ? account.tunnels.find((t) => t.id === id && t.tun_type === resource) : undefined;
    if (tunnel && sub === 'connections' && method === 'GET') return cfOk(tunnel.connectors.map((c) => structuredClone(c)));
    if (tunnel && sub === 'connections' && method === 'DELETE' && resource === 'cfd_tunnel') {
      if (!write) return cfError(403, 10000, 'Authentication error');
      return this.deleteConnectors(tunnel, url.searchParams.get('client_id'));
    }
    if (tunnel && sub === 'connectors' && method === 'GET') {
      const connector = tunnel.connectors.find((c) => c.id === rest[0]);
      return connector ? cfOk(structuredClone(connector)) : noRoute;
    }
    if (resource === 'gateway' && id === 'proxy_endpoints' && !sub && method === 'GET') return cfOk(account.proxyEndpoints.map((e) => structuredClone(e)));
    if (tunnel && sub === 'configurations' && method === 'GET') return configurationOf(account, tunnel);
    if (method === 'GET' && path.endpoint === 'routes.list') return this.listRoutes(account, 'routes', account.routes, url.searchParams);
    if (method === 'GET' && path.endpoint === 'hostname_routes.list')
      return this.listRoutes(account, 'hostname_routes', account.hostnameRoutes, url.searchParams);
    if (method === 'GET' && path.endpoint === 'virtual_networks.list') return cfOk(account.virtualNetworks.map((v) => structuredClone(v)));
    return noRoute;
  }

  /** As the real API: without client_id, every connector of the tunnel goes. */
  private deleteConnectors(tunnel: SimTunnel, clientId: string | null): Reply {
    tunnel.connectors = clientId ? tunnel.connectors.filter((c) => c.id !== clientId) : [];
    tunnel.status = deriveStatus(tunnel);
    if (tunnel.status === 'down' || tunnel.status === 'inactive') tunnel.conns_inactive_at = new Date(this.o.now()).toISOString();
    return cfOk(null);
  }

  private credentialOf(req: http.IncomingMessage): { id: string; write: boolean } | undefined {
    const { credentials } = this.o;
    const auth = req.headers.authorization;
    if (auth === `Bearer ${credentials.cloudflareToken}`) return { id: 'token', write: true };
    if (auth === `Bearer ${credentials.readOnlyCloudflareToken}`) return { id: 'read-only-token', write: false };
    if (req.headers['x-auth-email'] === credentials.cloudflareEmail && req.headers['x-auth-key'] === credentials.cloudflareKey)
      return { id: 'key', write: true };
    return undefined;
  }

  /** Applies the rate limit for one credential; returns headers and, when spent, a 429 reply. */
  private rateLimit(credential: string): { headers: Record<string, string>; reply?: Reply } {
    const rate = this.o.rateLimit ?? { limit: 1200, windowSeconds: 300 };
    const lockoutSeconds = rate.lockoutSeconds ?? 300;
    const t = this.o.now();
    let b = this.buckets.get(credential);
    if (!b || t - b.windowStart >= rate.windowSeconds * 1000) {
      b = { windowStart: t, used: 0, lockedUntil: b?.lockedUntil ?? 0 };
      this.buckets.set(credential, b);
    }
    const policy = `"burst";q=${rate.limit};w=${rate.windowSeconds}`;
    const refused = (wait: number) => ({
      headers: { ratelimit: `"default";r=0;t=${wait}`, 'ratelimit-policy': policy, 'retry-after': String(wait) },
      reply: cfError(429, 971, 'Please wait and consider throttling your request speed'),
    });
    if (b.lockedUntil > t) return refused(Math.ceil((b.lockedUntil - t) / 1000));
    b.used++;
    const reset = Math.max(1, Math.ceil((b.windowStart + rate.windowSeconds * 1000 - t) / 1000));
    if (b.used > rate.limit) {
      b.lockedUntil = t + lockoutSeconds * 1000;
      return refused(lockoutSeconds);
    }
    return { headers: { ratelimit: `"default";r=${rate.limit - b.used};t=${reset}`, 'ratelimit-policy': policy } };
  }

  /** A routes list: deleted routes only with is_deleted=true, none with false, all without it (the API's own rule); paged like the tunnel lists. */
  private listRoutes<T extends { deleted_at: string | null }>(
    account: SimAccount,
    which: 'routes' | 'hostname_routes',
    routes: T[],
    query: URLSearchParams,
  ): Reply {
    if (account.forbidden.includes(which)) return cfError(403, 10000, 'Authentication error');
    const deleted = query.get('is_deleted');
    const items = routes.filter((r) => deleted === null || (r.deleted_at !== null) === (deleted === 'true'));
    return this.page(items, query);
  }

  private page<T>(items: T[], query: URLSearchParams, view: (item: T) => unknown = (item) => structuredClone(item)): Reply {
    const perPage = Math.min(this.o.perPageCap ?? 1000, Math.max(1, Number(query.get('per_page') ?? 20) || 20));
    const page = this.o.ignorePage ? 1 : Math.max(1, Number(query.get('page') ?? 1) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return cfOk(slice.map(view), { count: slice.length, page, per_page: perPage, total_count: items.length });
  }

  private listTunnels(account: SimAccount, query: URLSearchParams, types: string[]): Reply {
    let items = account.tunnels.filter((t) => types.includes(t.tun_type));
    // Deleted tunnels only when asked for.
    const onlyDeleted = query.get('is_deleted') === 'true';
    items = items.filter((t) => (t.deleted_at !== null) === onlyDeleted);
    const filters: [string, (t: SimTunnel, value: string) => boolean][] = [
      ['status', (t, v) => t.status === v],
      ['name', (t, v) => t.name === v],
      ['uuid', (t, v) => t.id === v],
      ['include_prefix', (t, v) => t.name.startsWith(v)],
      ['exclude_prefix', (t, v) => !t.name.startsWith(v)],
    ];
    for (const [name, keep] of filters) {
      const value = query.get(name);
      if (value) items = items.filter((t) => keep(t, value));
    }
    return this.page(items, query, tunnelView);
  }
}

/**
 * GET …/configurations: a remotely managed tunnel's ingress and version; a locally managed one has
 * none to give (source local, version 0, no config); a WARP Connector's ha_mode and version.
 */
function configurationOf(account: SimAccount, tunnel: SimTunnel): Reply {
  if (tunnel.tun_type === 'warp_connector') {
    const w = tunnel.warpConfiguration ?? { configuration_version: 0, ha_mode: 'none', created_at: tunnel.created_at, updated_at: null };
    return cfOk({ tunnel_id: tunnel.id, ...structuredClone(w), config: null });
  }
  const c = tunnel.configuration;
  return cfOk({
    account_id: account.id,
    tunnel_id: tunnel.id,
    version: c?.version ?? 0,
    config: c ? { ingress: structuredClone(c.ingress), 'warp-routing': { enabled: false } } : null,
    source: c ? 'cloudflare' : 'local',
    created_at: c?.created_at ?? tunnel.created_at,
  });
}
