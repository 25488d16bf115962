// The simulator's one reading of a request path: which API, which endpoint, and its parameters.
// Faults, the request log and the handlers all take what this returns.

export type Endpoint =
  | 'tunnels.list'
  | 'connections.list'
  | 'connections.delete'
  | 'connectors.get'
  | 'gateway.list'
  | 'configurations.get'
  | 'routes.list'
  | 'hostname_routes.list'
  | 'virtual_networks.list'
  | 'proxy_records.list'
  | 'proxy_records.create'
  | 'proxy_records.get'
  | 'proxy_records.delete'
  | 'proxy_records.retry'
  | 'proxy_records.diagnose';

/** A request as the simulator logged it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint?: Endpoint;
  status: number;
  /** When the request arrived (the simulator clock). */
  at: number;
}

/** /client/v4/accounts/{accountId}/{resource}/{id}/{sub}/{item}…: the Cloudflare v4 paths. */
export interface CloudflarePath {
  api: 'cloudflare';
  endpoint: Endpoint | undefined;
  accountId: string | undefined;
  resource: string | undefined;
  id: string | undefined;
  sub: string | undefined;
  /** Segments after `sub`. */
  rest: string[];
}

/** /api/organizations/{organizationId}/{resource}/{recordId}/{action}…: the PostHog paths. */
export interface PostHogPath {
  api: 'posthog';
  endpoint: Endpoint | undefined;
  organizationId: string | undefined;
  resource: string | undefined;
  recordId: string | undefined;
  action: string | undefined;
  /** Segments after `action`. */
  rest: string[];
}

export type SimPath = CloudflarePath | PostHogPath | { api: 'control'; parts: string[] } | { api: 'none' };

function cloudflareEndpoint(method: string, resource: string | undefined, id: string | undefined, sub: string | undefined): Endpoint | undefined {
  if ((resource === 'cfd_tunnel' || resource === 'warp_connector' || resource === 'tunnels') && !id) return 'tunnels.list';
  if (sub === 'connections') return method === 'DELETE' ? 'connections.delete' : 'connections.list';
  if (sub === 'connectors') return 'connectors.get';
  if (sub === 'configurations' && method === 'GET') return 'configurations.get';
  if (resource === 'teamnet' && id === 'routes' && !sub) return 'routes.list';
  if (resource === 'teamnet' && id === 'virtual_networks' && !sub) return 'virtual_networks.list';
  if (resource === 'zerotrust' && id === 'routes' && sub === 'hostname') return 'hostname_routes.list';
  if (resource === 'gateway' && id === 'proxy_endpoints') return 'gateway.list';
  return undefined;
}

function posthogEndpoint(method: string, recordId: string | undefined, action: string | undefined): Endpoint {
  if (!recordId) return method === 'POST' ? 'proxy_records.create' : 'proxy_records.list';
  if (action === 'retry') return 'proxy_records.retry';
  if (action === 'diagnose') return 'proxy_records.diagnose';
  return method === 'DELETE' ? 'proxy_records.delete' : 'proxy_records.get';
}

export function parsePath(method: string, pathname: string): SimPath {
  let parts: string[];
  try {
    parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { api: 'none' };
  }
  if (parts[0] === '_simulator') return { api: 'control', parts: parts.slice(1) };
  if (parts[0] === 'client' && parts[1] === 'v4') {
    const [, , accounts, accountId, resource, id, sub, ...rest] = parts;
    const endpoint = accounts === 'accounts' ? cloudflareEndpoint(method, resource, id, sub) : undefined;
    return { api: 'cloudflare', endpoint, accountId: accounts === 'accounts' ? accountId : undefined, resource, id, sub, rest };
  }
  if (parts[0] === 'api' && parts[1] === 'organizations') {
    const [, , organizationId, resource, recordId, action, ...rest] = parts;
    const endpoint = resource === 'proxy_records' ? posthogEndpoint(method, recordId, action) : undefined;
    return { api: 'posthog', endpoint, organizationId, resource, recordId, action, rest };
  }
  return { api: 'none' };
}
