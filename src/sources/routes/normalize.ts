// Routes as the exporter keeps them. Pure.
import type { HostnameRoute, PrivateRoute } from '../../domain/types.js';
import { bounded, type Cuts, noCuts } from '../answer.js';
import type { ApiHostnameRoute, ApiRoute } from './api.js';

/** What the routes list calls a route in no virtual network of its own: the account's default one. */
const DEFAULT_VIRTUAL_NETWORK = 'default';

/** Deleted routes (a `deleted_at`, even when the filter was ignored) and routes to no tunnel are left out. */
export function normalizeRoutes(accountId: string, routes: ApiRoute[], cuts: Cuts = noCuts()): PrivateRoute[] {
  return routes
    .filter((r) => !r.deleted_at && r.tunnel_id)
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
    .filter((r) => !r.deleted_at && r.tunnel_id)
    .map((r) => ({ accountId, id: r.id, hostname: bounded(r.hostname, cuts), tunnelId: r.tunnel_id as string }));
}
