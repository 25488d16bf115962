// Tunnel lists: GET /accounts/{account_id}/cfd_tunnel and /accounts/{account_id}/warp_connector.
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/tunnels/
import { z } from 'zod';
import { apiPath, type ApiClient } from '../http.js';
import type { TunnelType } from '../../domain/types.js';
import { listAllPages, type ListOptions } from './envelope.js';


export const TUNNEL_READ = 'Cloudflare Tunnel Read';

const timestamp = z.string().nullish();

export const apiTunnel = z.object({
  id: z.string().min(1),
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

/** Tunnels asked for per list page. */
export const TUNNELS_PER_PAGE = 100;

/** Lists the account's tunnels of one type, excluding deleted ones (the API lists them by default). */
export function listTunnels(
  client: ApiClient,
  accountId: string,
  type: TunnelType,
  signal?: AbortSignal,
  onRepeatedIds?: ListOptions['onRepeatedIds'],
): Promise<ApiTunnel[]> {
  return listAllPages(
    client,
    {
      method: 'GET',
      path: type === 'cfd_tunnel' ? apiPath`/accounts/${accountId}/cfd_tunnel` : apiPath`/accounts/${accountId}/warp_connector`,
      query: { is_deleted: false },
      operation: type === 'cfd_tunnel' ? 'list_cfd_tunnels' : 'list_warp_connectors',
      permission: TUNNEL_READ,
      perPage: TUNNELS_PER_PAGE,
      ...(signal ? { signal } : {}),
    },
    apiTunnel,
    onRepeatedIds ? { onRepeatedIds } : {},
  );
}
