// Private network routes, GET /accounts/{a}/teamnet/routes, and hostname routes, GET
// /accounts/{a}/zerotrust/routes/hostname: page-number lists, deleted routes left out
// (`is_deleted=false`; both list them unless asked not to). The routes list names each route's
// virtual network (`virtual_network_name`), so the virtual networks need no read of their own.
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/networks/subresources/routes/
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/networks/subresources/hostname_routes/
import { z } from 'zod';
import { listAllPages } from '../../transport/envelope.js';
import { type ApiClient, apiPath } from '../../transport/http.js';

/** What the routes lists need (Cloudflare's API reference: "Cloudflare One Networks Read" or "Cloudflare Tunnel Read"). */
const ROUTES_READ = 'Cloudflare One Networks Read';

/** Routes per page: Cloudflare allows 1,000 routes per account, so one page holds them all. */
const ROUTES_PER_PAGE = 1000;

const text = z.string().nullish();

export const apiRoute = z.object({
  id: z.string().min(1),
  network: z.string().min(1),
  tunnel_id: text,
  virtual_network_id: text,
  virtual_network_name: text,
  tun_type: text,
  comment: text,
  deleted_at: text,
});
export type ApiRoute = z.infer<typeof apiRoute>;

export const apiHostnameRoute = z.object({
  id: z.string().min(1),
  hostname: z.string().min(1),
  tunnel_id: text,
  tun_type: text,
  comment: text,
  deleted_at: text,
});
export type ApiHostnameRoute = z.infer<typeof apiHostnameRoute>;

/** One routes list, deleted routes left out, one page per account (ROUTES_PER_PAGE). */
function listRouteKind<T extends { id: string }>(client: ApiClient, path: string, operation: string, item: z.ZodType<T>, signal?: AbortSignal): Promise<T[]> {
  return listAllPages(
    client,
    { method: 'GET', path, query: { is_deleted: false }, operation, permission: ROUTES_READ, perPage: ROUTES_PER_PAGE, signal },
    item,
  );
}

export function listRoutes(client: ApiClient, accountId: string, signal?: AbortSignal): Promise<ApiRoute[]> {
  return listRouteKind(client, apiPath`/accounts/${accountId}/teamnet/routes`, 'list_routes', apiRoute, signal);
}

export function listHostnameRoutes(client: ApiClient, accountId: string, signal?: AbortSignal): Promise<ApiHostnameRoute[]> {
  return listRouteKind(client, apiPath`/accounts/${accountId}/zerotrust/routes/hostname`, 'list_hostname_routes', apiHostnameRoute, signal);
}
