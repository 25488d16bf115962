// A tunnel's configuration: GET /accounts/{a}/cfd_tunnel/{t}/configurations (a remotely managed
// tunnel's ingress rules and `version`) and GET /accounts/{a}/warp_connector/{t}/configurations (a
// WARP Connector's `ha_mode` and its monotonic `configuration_version`). One call per tunnel, in
// the budget's refresh lane. Never the token endpoint beside them.
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/tunnels/subresources/cloudflared/subresources/configurations/
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/tunnels/subresources/warp_connector/subresources/configurations/
import { z } from 'zod';
import { sendCloudflare } from '../../transport/envelope.js';
import { type ApiClient, apiPath } from '../../transport/http.js';
import { TUNNEL_READ } from '../tunnels/api.js';

/** A configuration is a few kilobytes; a bigger answer is cut off rather than parsed. */
const MAX_CONFIGURATION_BYTES = 1024 * 1024;

const ingressRule = z.object({
  hostname: z.string().nullish(),
  path: z.string().nullish(),
  service: z.string().nullish(),
});

export const apiTunnelConfiguration = z.object({
  tunnel_id: z.string().nullish(),
  version: z.number().int().nullish(),
  source: z.string().nullish(),
  config: z
    .object({ ingress: z.array(ingressRule).nullish() })
    .passthrough()
    .nullish(),
});
export type ApiTunnelConfiguration = z.infer<typeof apiTunnelConfiguration>;

export const apiWarpConfiguration = z.object({
  tunnel_id: z.string().nullish(),
  configuration_version: z.number().int(),
  ha_mode: z.string().nullish(),
});
export type ApiWarpConfiguration = z.infer<typeof apiWarpConfiguration>;

/** One configuration read: one page, in the refresh lane, a few kilobytes at most. */
async function getConfiguration<T>(client: ApiClient, path: string, operation: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
  const { result } = await sendCloudflare(
    client,
    { method: 'GET', path, operation, permission: TUNNEL_READ, lane: 'refresh', maxBytes: MAX_CONFIGURATION_BYTES, signal },
    schema,
  );
  return result;
}

export function getTunnelConfiguration(client: ApiClient, accountId: string, tunnelId: string, signal?: AbortSignal): Promise<ApiTunnelConfiguration> {
  const path = apiPath`/accounts/${accountId}/cfd_tunnel/${tunnelId}/configurations`;
  return getConfiguration(client, path, 'get_tunnel_configuration', apiTunnelConfiguration, signal);
}

export function getWarpConfiguration(client: ApiClient, accountId: string, tunnelId: string, signal?: AbortSignal): Promise<ApiWarpConfiguration> {
  const path = apiPath`/accounts/${accountId}/warp_connector/${tunnelId}/configurations`;
  return getConfiguration(client, path, 'get_warp_connector_configuration', apiWarpConfiguration, signal);
}
