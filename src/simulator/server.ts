// The simulated Cloudflare v4 and PostHog APIs on one loopback HTTP server, used by --demo, the
// tests and the benchmarks. It behaves like today's services, refusals and quirks included:
// - Cloudflare: envelopes and error codes, page-number pagination, deleted tunnels left out unless
//   `is_deleted=true` asks for them (the live API since December 2025), the combined
//   `/tunnels?tun_types=` list (comma list or repeated parameter, as the official SDK sends it),
//   one connector by id, DELETE without client_id removing every connector, `is_pending_reconnect`
//   always false, and a per-credential rate limit with Ratelimit headers and a 429 lockout;
// - PostHog (posthog/api/proxy_record.py): `{results, max_proxy_records}` lists (older shapes on
//   request), create refused at `max_proxy_records`, `target_cname` derived from organization and
//   domain under a base that ends with a dot, create answered 201 (a missing or malformed domain:
//   400 with field errors), DELETE of a waiting/erroring/timed_out record at once (200
//   {"success": true}), retry only from erroring, timed_out or issuing, `retry/` and `diagnose/`
//   refused to every API key (the actions declare no API scope), writes refused to a member below
//   admin, `{"detail": ...}` errors, and the trailing slash optional.
// Control endpoint (JSON): see README "Simulator".
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRandom,
  deriveStatus,
  type FleetOptions,
  generateFleet,
  type SimFleet,
  type SimOrganization,
  type SimProxyRecord,
  type SimProxyStatus,
  type SimTunnel,
  type SimTunnelStatus,
  setProxyRecordStatus,
  setTunnelStatus,
  targetCname,
  uuid,
} from './fleet.js';
import { createTimeline, type Timeline } from './timeline.js';

export type Endpoint =
  | 'tunnels.list'
  | 'connections.list'
  | 'connections.delete'
  | 'connectors.get'
  | 'gateway.list'
  | 'proxy_records.list'
  | 'proxy_records.create'
  | 'proxy_records.get'
  | 'proxy_records.delete'
  | 'proxy_records.retry'
  | 'proxy_records.diagnose';

export interface FaultRule {
  /** Which endpoint, or '*' for all API endpoints. */
  endpoint: Endpoint | '*';
  /** Only requests whose path contains this text (e.g. a tunnel id). */
  pathIncludes?: string;
  latencyMs?: number;
  jitterMs?: number;
  /** Share of matching requests that fail (0..1); default 1 when `status` is set. */
  errorRate?: number;
  status?: number;
  /** Answers 429 with Retry-After, as if the budget were spent. */
  rateLimited?: boolean;
  retryAfterSeconds?: number;
  /** Answers 200 with a body that is not JSON. */
  malformed?: boolean;
  /** Never answers. */
  hang?: boolean;
  /** Destroys the socket without an answer. */
  reset?: boolean;
  /** Applies to this many matching requests, then is dropped. */
  times?: number;
  /**
   * With `status`, `hang` or `reset`: handle the request first, then answer with the fault (a write
   * that took effect although its caller never learns it did).
   */
  after?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint?: Endpoint;
  status: number;
  /** When the request arrived (the simulator clock). */
  at: number;
}

export interface SimulatorOptions {
  host?: string;
  port?: number;
  fleet?: FleetOptions;
  /** Requests per window per credential (Cloudflare: 1200 per 300 s). */
  rateLimit?: { limit: number; windowSeconds: number; lockoutSeconds?: number };
  /** Largest per_page the list endpoints honour (Cloudflare's tunnel lists: 1000). */
  perPageCap?: number;
  /** PostHog list shape: today's object, a bare array, or DRF pagination. */
  posthogListShape?: 'current' | 'array' | 'paginated';
  /**
   * PostHog answers a personal API key on `retry/` with 403 "This action does not support personal
   * API key access" (the action declares no API scope). True simulates a server that accepts it.
   */
  posthogRetryAcceptsApiKeys?: boolean;
  posthogPageSize?: number;
  /**
   * How long a deleted record stays listed, as `deleting`, after its DELETE was answered (replica
   * lag, or a teardown): 0 or absent, gone at once (PostHog deletes waiting, erroring and timed-out
   * records in the request).
   */
  posthogDeleteLagMs?: number;
  /** Advance the timeline every this many ms; 0 or absent: only on POST /_simulator/step. */
  timelineIntervalMs?: number;
  faults?: FaultRule[];
  credentials?: {
    cloudflareToken?: string;
    cloudflareEmail?: string;
    cloudflareKey?: string;
    posthogKey?: string;
    /** A key of a member below admin: it reads, and every proxy record write is refused (403). */
    posthogMemberKey?: string;
    readOnlyCloudflareToken?: string;
  };
  /** Some Cloudflare list endpoints ignore `page`; simulate one that does. */
  ignorePage?: boolean;
  now?: () => number;
  onEvent?: (event: string) => void;
}

export interface Simulator {
  url: string;
  cloudflareBaseUrl: string;
  posthogBaseUrl: string;
  credentials: Required<NonNullable<SimulatorOptions['credentials']>>;
  accountIds: string[];
  organizationIds: string[];
  fleet: SimFleet;
  timeline: Timeline;
  requests: RecordedRequest[];
  setFaults(rules: FaultRule[]): void;
  step(): string[];
  close(): Promise<void>;
}

const DEFAULT_CREDENTIALS = {
  cloudflareToken: 'sim-cloudflare-token',
  cloudflareEmail: 'sre@example.com',
  cloudflareKey: 'sim-global-api-key',
  posthogKey: 'phx_sim_personal_api_key',
  posthogMemberKey: 'phx_sim_member_api_key',
  readOnlyCloudflareToken: 'sim-cloudflare-read-only-token',
};

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  raw?: string;
}

const cfOk = (result: unknown, resultInfo?: unknown): Reply => ({
  status: 200,
  body: { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) },
});
const cfError = (status: number, code: number, message: string): Reply => ({
  status,
  body: { success: false, errors: [{ code, message }], messages: [], result: null },
});
const phError = (status: number, detail: string): Reply => ({ status, body: { detail } });
const PERSONAL_API_KEY_REFUSED = 'This action does not support personal API key access';

function tunnelView(t: SimTunnel) {
  const { connectors: _connectors, ...rest } = t;
  // The deprecated connections[] field: present but empty, as newer responses have it.
  return { ...rest, connections: [] };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const now = options.now ?? Date.now;
  const credentials = { ...DEFAULT_CREDENTIALS, ...options.credentials };
  const fleet = generateFleet({ now: now(), ...options.fleet });
  const seed = options.fleet?.seed ?? 1;
  const random = createRandom(seed ^ 0xfa017);
  const timeline = createTimeline(fleet, seed);
  const perPageCap = options.perPageCap ?? 1000;
  const rate = options.rateLimit ?? { limit: 1200, windowSeconds: 300 };
  const lockoutSeconds = rate.lockoutSeconds ?? 300;
  const buckets = new Map<string, { windowStart: number; used: number; lockedUntil: number }>();
  let faults: FaultRule[] = [...(options.faults ?? [])];
  const requests: RecordedRequest[] = [];
  const hung = new Set<http.ServerResponse>();
  /** Deleted records still listed (posthogDeleteLagMs), with when they go. */
  const lingering = new Map<SimProxyRecord, number>();
  const purgeDeleted = () => {
    for (const [record, goneAt] of lingering) {
      if (goneAt > now()) continue;
      lingering.delete(record);
      for (const o of fleet.organizations) o.records = o.records.filter((r) => r !== record);
    }
  };

  const accountOf = (id: string) => fleet.accounts.find((a) => a.id === id);
  const orgOf = (id: string) => fleet.organizations.find((o) => o.id === id);

  /** Applies the rate limit for one credential; returns headers and, when spent, a 429 reply. */
  const rateLimit = (credential: string): { headers: Record<string, string>; reply?: Reply } => {
    const t = now();
    let b = buckets.get(credential);
    if (!b || t - b.windowStart >= rate.windowSeconds * 1000) {
      b = { windowStart: t, used: 0, lockedUntil: b?.lockedUntil ?? 0 };
      buckets.set(credential, b);
    }
    const policy = `"burst";q=${rate.limit};w=${rate.windowSeconds}`;
    if (b.lockedUntil > t) {
      const wait = Math.ceil((b.lockedUntil - t) / 1000);
      return {
        headers: { ratelimit: `"default";r=0;t=${wait}`, 'ratelimit-policy': policy, 'retry-after': String(wait) },
        reply: cfError(429, 971, 'Please wait and consider throttling your request speed'),
      };
    }
    b.used++;
    const reset = Math.max(1, Math.ceil((b.windowStart + rate.windowSeconds * 1000 - t) / 1000));
    if (b.used > rate.limit) {
      b.lockedUntil = t + lockoutSeconds * 1000;
      return {
        headers: { ratelimit: `"default";r=0;t=${lockoutSeconds}`, 'ratelimit-policy': policy, 'retry-after': String(lockoutSeconds) },
        reply: cfError(429, 971, 'Please wait and consider throttling your request speed'),
      };
    }
    return { headers: { ratelimit: `"default";r=${rate.limit - b.used};t=${reset}`, 'ratelimit-policy': policy } };
  };

  const cloudflareCredential = (req: http.IncomingMessage): { id: string; write: boolean } | undefined => {
    const auth = req.headers.authorization;
    if (auth === `Bearer ${credentials.cloudflareToken}`) return { id: 'token', write: true };
    if (auth === `Bearer ${credentials.readOnlyCloudflareToken}`) return { id: 'read-only-token', write: false };
    if (req.headers['x-auth-email'] === credentials.cloudflareEmail && req.headers['x-auth-key'] === credentials.cloudflareKey)
      return { id: 'key', write: true };
    return undefined;
  };

  const listTunnels = (account: NonNullable<ReturnType<typeof accountOf>>, query: URLSearchParams, types: string[]): Reply => {
    let items = account.tunnels.filter((t) => types.includes(t.tun_type));
    // Deleted tunnels only when asked for.
    const onlyDeleted = query.get('is_deleted') === 'true';
    items = items.filter((t) => (t.deleted_at !== null) === onlyDeleted);
    const status = query.get('status');
    if (status) items = items.filter((t) => t.status === status);
    const name = query.get('name');
    if (name) items = items.filter((t) => t.name === name);
    const id = query.get('uuid');
    if (id) items = items.filter((t) => t.id === id);
    const include = query.get('include_prefix');
    if (include) items = items.filter((t) => t.name.startsWith(include));
    const exclude = query.get('exclude_prefix');
    if (exclude) items = items.filter((t) => !t.name.startsWith(exclude));
    const perPage = Math.min(perPageCap, Math.max(1, Number(query.get('per_page') ?? 20) || 20));
    const page = options.ignorePage ? 1 : Math.max(1, Number(query.get('page') ?? 1) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return cfOk(slice.map(tunnelView), { count: slice.length, page, per_page: perPage, total_count: items.length });
  };

  const listProxyRecords = (org: SimOrganization, url: URL): Reply => {
    const records = org.records.map((r) => structuredClone(r));
    const shape = options.posthogListShape ?? 'current';
    if (shape === 'array') return { status: 200, body: records };
    if (shape === 'paginated') {
      const size = options.posthogPageSize ?? 3;
      const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
      const next = offset + size < records.length ? `${url.origin}${url.pathname}?limit=${size}&offset=${offset + size}` : null;
      const previous = offset > 0 ? `${url.origin}${url.pathname}?limit=${size}&offset=${Math.max(0, offset - size)}` : null;
      return { status: 200, body: { count: records.length, next, previous, results: records.slice(offset, offset + size) } };
    }
    return { status: 200, body: { results: records, max_proxy_records: org.maxProxyRecords } };
  };

  const createProxyRecord = (org: SimOrganization, body: string): Reply => {
    if (org.records.length >= org.maxProxyRecords) return phError(400, `Maximum of ${org.maxProxyRecords} proxy records per organization.`);
    let input: { domain?: unknown; root_redirect_url?: unknown };
    try {
      input = JSON.parse(body || '{}') as typeof input;
    } catch {
      return phError(400, 'JSON parse error');
    }
    const { domain } = input;
    // The serializer's field errors, as Django REST framework words them.
    if (domain === undefined || domain === null || domain === '') return { status: 400, body: { domain: ['This field is required.'] } };
    if (typeof domain !== 'string' || !/^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$/.test(domain))
      return { status: 400, body: { domain: ['Enter a valid domain.'] } };
    // `domain` is unique across PostHog: a second record for it is a database error.
    if (fleet.organizations.some((o) => o.records.some((r) => r.domain === domain))) return phError(500, 'A server error occurred.');
    const at = new Date(now()).toISOString();
    const record: SimProxyRecord = {
      id: uuid(random),
      domain,
      target_cname: targetCname(org.id, domain, fleet.proxyBaseCname),
      status: 'waiting',
      message: null,
      created_at: at,
      updated_at: at,
      created_by: 1,
      root_redirect_url: typeof input.root_redirect_url === 'string' ? input.root_redirect_url : null,
    };
    org.records.unshift(record);
    timeline.markRetried(record.id);
    return { status: 201, body: structuredClone(record) };
  };

  const route = (req: http.IncomingMessage, url: URL, body: string): { reply: Reply; rateHeaders?: Record<string, string> } => {
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);

    if (parts[0] === 'client' && parts[1] === 'v4') {
      const credential = cloudflareCredential(req);
      if (!credential) return { reply: cfError(403, 10000, 'Authentication error') };
      const limited = rateLimit(credential.id);
      if (limited.reply) return { reply: limited.reply, rateHeaders: limited.headers };
      const withRate = (reply: Reply) => ({ reply, rateHeaders: limited.headers });
      const [, , accounts, accountId, resource, tunnelId, sub, ...rest] = parts;
      const account = accounts === 'accounts' && accountId ? accountOf(accountId) : undefined;
      const noRoute = cfError(404, 7003, `Could not route to ${url.pathname}, perhaps your object identifier is invalid?`);
      if (!account) return withRate(noRoute);
      if (rest.length > (sub === 'connectors' ? 1 : 0)) return withRate(noRoute);

      if ((resource === 'cfd_tunnel' || resource === 'warp_connector') && !tunnelId && method === 'GET') {
        return withRate(listTunnels(account, url.searchParams, [resource]));
      }
      if (resource === 'tunnels' && !tunnelId && method === 'GET') {
        // A comma list (the API reference) or the parameter repeated (the official SDK).
        const asked = url.searchParams
          .getAll('tun_types')
          .flatMap((v) => v.split(','))
          .filter(Boolean);
        const types = asked.length > 0 ? asked : ['cfd_tunnel', 'warp_connector', 'ip_sec', 'gre', 'cni'];
        return withRate(listTunnels(account, url.searchParams, types));
      }
      if ((resource === 'cfd_tunnel' || resource === 'warp_connector') && tunnelId && sub === 'connections') {
        const tunnel = account.tunnels.find((t) => t.id === tunnelId && t.tun_type === resource);
        if (!tunnel) return withRate(noRoute);
        if (method === 'GET') {
          return withRate(cfOk(tunnel.connectors.map((c) => structuredClone(c))));
        }
        if (method === 'DELETE' && resource === 'cfd_tunnel') {
          if (!credential.write) return withRate(cfError(403, 10000, 'Authentication error'));
          const clientId = url.searchParams.get('client_id');
          // As the real API: without client_id, every connector of the tunnel goes.
          tunnel.connectors = clientId ? tunnel.connectors.filter((c) => c.id !== clientId) : [];
          tunnel.status = deriveStatus(tunnel);
          if (tunnel.status === 'down' || tunnel.status === 'inactive') tunnel.conns_inactive_at = new Date(now()).toISOString();
          return withRate(cfOk(null));
        }
      }
      if ((resource === 'cfd_tunnel' || resource === 'warp_connector') && tunnelId && sub === 'connectors' && method === 'GET') {
        const tunnel = account.tunnels.find((t) => t.id === tunnelId && t.tun_type === resource);
        const connector = tunnel?.connectors.find((c) => c.id === parts[7]);
        if (!connector || parts.length !== 8) return withRate(noRoute);
        return withRate(cfOk(structuredClone(connector)));
      }
      if (resource === 'gateway' && tunnelId === 'proxy_endpoints' && !sub && method === 'GET') {
        return withRate(cfOk(account.proxyEndpoints.map((e) => structuredClone(e))));
      }
      return withRate(noRoute);
    }

    if (parts[0] === 'api' && parts[1] === 'organizations') {
      const member = req.headers.authorization === `Bearer ${credentials.posthogMemberKey}`;
      if (req.headers.authorization !== `Bearer ${credentials.posthogKey}` && !member) {
        return { reply: phError(401, 'Personal API key found in request Authorization header is invalid.') };
      }
      // OrganizationAdminWritePermissions, checked before the object is looked up.
      if (member && method !== 'GET') return { reply: phError(403, 'Your organization access level is insufficient.') };
      purgeDeleted();
      // PostHog's router makes the trailing slash optional.
      const [, , orgId, resource, recordId, action, ...rest] = parts;
      const org = orgId ? orgOf(orgId) : undefined;
      const notFound = phError(404, 'Not found.');
      if (!org || resource !== 'proxy_records' || rest.length > 0) return { reply: notFound };
      if (!recordId && method === 'GET') return { reply: listProxyRecords(org, url) };
      if (!recordId && method === 'POST') return { reply: createProxyRecord(org, body) };
      const record = org.records.find((r) => r.id === recordId);
      if (!record) return { reply: notFound };
      if (!action && method === 'GET') return { reply: { status: 200, body: structuredClone(record) } };
      if (!action && method === 'DELETE') {
        // Records that never got a certificate go at once; the others are torn down first.
        if (!['waiting', 'erroring', 'timed_out'].includes(record.status)) setProxyRecordStatus(record, 'deleting', now());
        else if (options.posthogDeleteLagMs) {
          setProxyRecordStatus(record, 'deleting', now());
          lingering.set(record, now() + options.posthogDeleteLagMs);
        } else org.records = org.records.filter((r) => r !== record);
        return { reply: { status: 200, body: { success: true } } };
      }
      // Like retry/, diagnose/ declares no API key scope: every token credential is refused.
      if (action === 'diagnose') return { reply: phError(403, PERSONAL_API_KEY_REFUSED) };
      if (action === 'retry' && method === 'POST') {
        if (!options.posthogRetryAcceptsApiKeys) return { reply: phError(403, PERSONAL_API_KEY_REFUSED) };
        if (!['erroring', 'timed_out', 'issuing'].includes(record.status)) {
          return { reply: phError(400, `Cannot retry proxy in ${record.status} state.`) };
        }
        setProxyRecordStatus(record, 'waiting', now());
        timeline.markRetried(record.id);
        return { reply: { status: 200, body: structuredClone(record) } };
      }
      return { reply: phError(405, `Method "${method}" not allowed.`) };
    }
    return { reply: { status: 404, body: { error: 'not found' } } };
  };

  const control = (method: string, parts: string[], body: string): Reply => {
    const json = () => (body ? (JSON.parse(body) as Record<string, unknown>) : {});
    const [what, id, field] = parts;
    if (what === 'state' && method === 'GET') {
      return {
        status: 200,
        body: {
          steps: timeline.steps,
          accounts: fleet.accounts.map((a) => ({
            id: a.id,
            tunnels: a.tunnels.map((t) => ({
              id: t.id,
              name: t.name,
              type: t.tun_type,
              status: t.status,
              deleted: t.deleted_at !== null,
              connectors: t.connectors.map((c) => c.id),
            })),
          })),
          organizations: fleet.organizations.map((o) => ({ id: o.id, records: o.records.map((r) => ({ id: r.id, domain: r.domain, status: r.status })) })),
          faults,
        },
      };
    }
    if (what === 'requests' && method === 'GET') return { status: 200, body: requests };
    if (what === 'requests' && method === 'DELETE') {
      requests.length = 0;
      return { status: 204, body: undefined };
    }
    if (what === 'faults' && method === 'PUT') {
      faults = json() as unknown as FaultRule[];
      if (!Array.isArray(faults)) throw new Error('faults must be a JSON array of rules');
      return { status: 200, body: faults };
    }
    if (what === 'faults' && method === 'DELETE') {
      faults = [];
      return { status: 204, body: undefined };
    }
    if (what === 'step' && method === 'POST') return { status: 200, body: { events: step() } };
    if (what === 'tunnels' && id && field === 'status' && method === 'POST') {
      const tunnel = fleet.accounts.flatMap((a) => a.tunnels).find((t) => t.id === id);
      const status = json().status as SimTunnelStatus;
      if (!tunnel || !['healthy', 'degraded', 'down', 'inactive'].includes(status)) return { status: 400, body: { error: 'unknown tunnel or status' } };
      setTunnelStatus(tunnel, status, now(), random);
      return { status: 200, body: tunnelView(tunnel) };
    }
    if (what === 'proxy_records' && id && field === 'status' && method === 'POST') {
      const record = fleet.organizations.flatMap((o) => o.records).find((r) => r.id === id);
      const status = json().status as SimProxyStatus;
      if (!record || !['waiting', 'issuing', 'valid', 'warning', 'erroring', 'deleting', 'timed_out'].includes(status))
        return { status: 400, body: { error: 'unknown record or status' } };
      setProxyRecordStatus(record, status, now());
      return { status: 200, body: record };
    }
    if (what === 'proxy_base_cname' && method === 'PUT') {
      const base = json().base;
      if (typeof base !== 'string' || base === '') return { status: 400, body: { error: 'base must be a host name' } };
      fleet.proxyBaseCname = base;
      return { status: 200, body: { base } };
    }
    if (what === 'ratelimit' && method === 'DELETE') {
      buckets.clear();
      return { status: 204, body: undefined };
    }
    return { status: 404, body: { error: 'unknown control endpoint' } };
  };

  /** Which API endpoint a request is for, from method and path alone. */
  const classify = (method: string, pathname: string): Endpoint | undefined => {
    const p = pathname.split('/').filter(Boolean);
    if (p[0] === 'client' && p[1] === 'v4' && p[2] === 'accounts') {
      const [resource, id, sub] = [p[4], p[5], p[6]];
      if ((resource === 'cfd_tunnel' || resource === 'warp_connector' || resource === 'tunnels') && !id) return 'tunnels.list';
      if (sub === 'connections') return method === 'DELETE' ? 'connections.delete' : 'connections.list';
      if (sub === 'connectors') return 'connectors.get';
      if (resource === 'gateway' && id === 'proxy_endpoints') return 'gateway.list';
      return undefined;
    }
    if (p[0] === 'api' && p[1] === 'organizations' && p[3] === 'proxy_records') {
      if (!p[4]) return method === 'POST' ? 'proxy_records.create' : 'proxy_records.list';
      if (p[5] === 'retry') return 'proxy_records.retry';
      if (p[5] === 'diagnose') return 'proxy_records.diagnose';
      return method === 'DELETE' ? 'proxy_records.delete' : 'proxy_records.get';
    }
    return undefined;
  };

  const matchingFault = (endpoint: Endpoint | undefined, path: string): FaultRule | undefined => {
    for (const rule of faults) {
      if (rule.endpoint !== '*' && rule.endpoint !== endpoint) continue;
      if (rule.pathIncludes && !path.includes(rule.pathIncludes)) continue;
      const rate = rule.errorRate ?? 1;
      if (rate < 1 && random() >= rate) continue;
      if (rule.times !== undefined) {
        rule.times--;
        if (rule.times <= 0) faults = faults.filter((r) => r !== rule);
      }
      return rule;
    }
    return undefined;
  };

  const send = (res: http.ServerResponse, reply: Reply, extra: Record<string, string> = {}) => {
    const payload = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    res.writeHead(reply.status, { ...(payload ? { 'content-type': 'application/json' } : {}), ...extra, ...reply.headers });
    res.end(payload);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Logged as the time the request arrived, as the real API's rate limit counts it (not the
      // time the answer was ready, which a 1,000-tunnel page delays).
      const arrived = now();
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'simulator'}`);
      const body = Buffer.concat(chunks).toString('utf8');
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts[0] === '_simulator') {
        try {
          send(res, control(req.method ?? 'GET', parts.slice(1), body));
        } catch (err) {
          send(res, { status: 400, body: { error: (err as Error).message } });
        }
        return;
      }
      // The fault is chosen before the request is handled, so a failed write changes nothing.
      const endpoint = classify(req.method ?? 'GET', url.pathname);
      const fault = matchingFault(endpoint, url.pathname);
      const record = (status: number) =>
        requests.push({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          ...(endpoint ? { endpoint } : {}),
          status,
          at: arrived,
        });

      const answer = () => {
        // Handled, and then the fault below replaces its answer.
        if (fault?.after && (fault.hang || fault.reset || fault.status)) route(req, url, body);
        if (fault?.hang) {
          record(0);
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
        }
        if (fault?.reset) {
          record(0);
          req.socket.destroy();
          return;
        }
        if (fault?.rateLimited) {
          const wait = fault.retryAfterSeconds ?? 60;
          record(429);
          send(res, cfError(429, 10100, 'Rate limited'), { 'retry-after': String(wait), ratelimit: `"default";r=0;t=${wait}` });
          return;
        }
        if (fault?.status) {
          record(fault.status);
          send(res, endpoint?.startsWith('proxy') ? phError(fault.status, 'A server error occurred.') : cfError(fault.status, 10001, 'Internal server error'));
          return;
        }
        if (fault?.malformed) {
          record(200);
          send(res, { status: 200, body: undefined, raw: '<html><body>502 Bad Gateway</body></html>' });
          return;
        }
        const { reply, rateHeaders } = route(req, url, body);
        record(reply.status);
        send(res, reply, rateHeaders);
      };
      const latency = (fault?.latencyMs ?? 0) + (fault?.jitterMs ? random() * fault.jitterMs : 0);
      if (latency > 0) setTimeout(answer, latency);
      else answer();
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const step = () => {
    const events = timeline.step(now());
    for (const e of events) options.onEvent?.(e);
    return events;
  };
  const timer = options.timelineIntervalMs ? setInterval(step, options.timelineIntervalMs) : undefined;
  timer?.unref();

  return {
    url,
    cloudflareBaseUrl: `${url}/client/v4`,
    posthogBaseUrl: url,
    credentials,
    accountIds: fleet.accounts.map((a) => a.id),
    organizationIds: fleet.organizations.map((o) => o.id),
    fleet,
    timeline,
    requests,
    setFaults(rules) {
      faults = [...rules];
    },
    step,
    close() {
      if (timer) clearInterval(timer);
      for (const res of hung) res.destroy();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
