// Routes as the exporter keeps them. Pure.
import { type HostnameRoute, type PrivateRoute, TUNNEL_TYPES } from '../../domain/types.js';
import { bounded, type Cuts, noCuts } from '../answer.js';
import type { ApiHostnameRoute, ApiRoute } from './api.js';

/** What the routes list calls a route in no virtual network of its own: the account's default one. */
const DEFAULT_VIRTUAL_NETWORK = 'default';

/**
 * The routes to the tunnels the exporter lists (cfd_tunnel, warp_connector): a route to an IPsec or
 * GRE tunnel would look like a route to a deleted tunnel. Routes without a type are kept.
 */
const ours = (r: { tun_type?: string | null | undefined }) => !r.tun_type || (TUNNEL_TYPES as readonly string[]).includes(r.tun_type);

/** Deleted routes (a `deleted_at`, even when the filter was ignored), routes to no tunnel and to tunnels of other types are left out. */
export function normalizeRoutes(accountId: string, routes: ApiRoute[], cuts: Cuts = noCuts()): PrivateRoute[] {
  return routes
    .filter((r) => !r.deleted_at && r.tunnel_id && ours(r))
    .map((r) => ({
      accountId,
      id: r.id,
      network: bounded(r.network, cuts),
      virtualNetwork: bounded(r.virtual_network_name || r.virtual_network_id || DEFAULT_VIRTUAL_NETWORK, cuts),
      tunnelId: r.tunnel_id as string,
      comment: bounded(r.comment ?? '', cuts),
    }));
}

export function normalizeHostnameRoutes(accountId: string, routes: ApiHostnameRoute[], cuts: Cuts = noCuts()): HostnameRoute[] {
  return routes
    .filter((r) => !r.deleted_at && r.tunnel_id && ours(r))
    .map((r) => ({ accountId, id: r.id, hostname: bounded(r.hostname, cuts), tunnelId: r.tunnel_id as string }));
}
