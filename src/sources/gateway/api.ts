// Zero Trust Gateway proxy endpoints: GET /accounts/{a}/gateway/proxy_endpoints (one page).
// https://developers.cloudflare.com/api/resources/zero_trust/subresources/gateway/subresources/proxy_endpoints/
import { z } from 'zod';
import { sendCloudflare } from '../../transport/envelope.js';
import { type ApiClient, apiPath } from '../../transport/http.js';

export const apiProxyEndpoint = z.object({
  id: z.string().min(1),
  name: z.string().default(''),
  kind: z.string().nullish(),
  ips: z.array(z.string()).nullish(),
  subdomain: z.string().nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type ApiProxyEndpoint = z.infer<typeof apiProxyEndpoint>;
const endpointList = z.array(apiProxyEndpoint);

export async function listProxyEndpoints(client: ApiClient, accountId: string, signal?: AbortSignal): Promise<ApiProxyEndpoint[]> {
  const { result } = await sendCloudflare(
    client,
    {
      method: 'GET',
      path: apiPath`/accounts/${accountId}/gateway/proxy_endpoints`,
      operation: 'list_gateway_proxy_endpoints',
      permission: 'Zero Trust Read',
      signal,
    },
    endpointList,
  );
  return result;
}
