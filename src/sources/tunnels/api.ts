// The tunnel list: GET /accounts/{account_id}/tunnels?tun_types=cfd_tunnel,warp_connector.
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/tunnels/
import { z } from 'zod';
import { type ListOptions, listAllPages } from '../../transport/envelope.js';
import { type ApiClient, apiPath } from '../../transport/http.js';
import { uuidId } from '../../transport/ids.js';

export const TUNNEL_READ = 'Cloudflare Tunnel Read';

const timestamp = z.string().nullish();

export const apiTunnel = z.object({
  id: uuidId,
  name: z.string().default(''),
  status: z.string().nullish(),
  tun_type: z.string().optional(),
  config_src: z.string().nullish(),
  created_at: timestamp,
  deleted_at: timestamp,
  conns_active_at: timestamp,
  conns_inactive_at: timestamp,
});
export type ApiTunnel = z.infer<typeof apiTunnel>;

/** Tunnels asked for per list page: the most the tunnel lists serve. */
export const TUNNELS_PER_PAGE = 1000;

/** The tunnel types the exporter reports, as the combined list's tun_types filter. */
const TUN_TYPES = 'cfd_tunnel,warp_connector';

/**
 * Lists the account's Cloudflare Tunnels and WARP Connector tunnels in one walk:
 * GET /accounts/{account_id}/tunnels?tun_types=cfd_tunnel,warp_connector, which returns both with
 * their `tun_type` (one list instead of one per type). Deleted tunnels are left out
 * (`is_deleted=false`: the API lists them unless asked not to).
 */
export function listTunnels(client: ApiClient, accountId: string, signal?: AbortSignal, onRepeatedIds?: ListOptions['onRepeatedIds']): Promise<ApiTunnel[]> {
  return listAllPages(
    client,
    {
      method: 'GET',
      path: apiPath`/accounts/${accountId}/tunnels`,
      query: { tun_types: TUN_TYPES, is_deleted: false },
      operation: 'list_tunnels',
      permission: TUNNEL_READ,
      perPage: TUNNELS_PER_PAGE,
      signal,
    },
    apiTunnel,
    onRepeatedIds ? { onRepeatedIds } : {},
  );
}
