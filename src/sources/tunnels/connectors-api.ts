// A tunnel's connectors and their connections, and removing one connector.
// GET    /accounts/{a}/cfd_tunnel/{t}/connections      (one page of connectors)
// GET    /accounts/{a}/warp_connector/{t}/connections  (connectors carry ha_status)
// DELETE /accounts/{a}/cfd_tunnel/{t}/connections?client_id=<connector id>
import { z } from 'zod';
import type { Lane } from '../../budget/window.js';
import type { TunnelType } from '../../domain/types.js';
import { sendCloudflare, sendCloudflareWrite } from '../../transport/envelope.js';
import { type ApiClient, apiPath } from '../../transport/http.js';
import { isUuid } from '../../transport/ids.js';
import { TUNNEL_READ } from './api.js';

const TUNNEL_WRITE = 'Cloudflare Tunnel Write';

/** Bytes of one tunnel's connections answer read at most (a real one is tens of kilobytes). */
const MAX_CONNECTIONS_ANSWER_BYTES = 1024 * 1024;

const apiConnection = z.object({
  id: z.string().optional(),
  client_id: z.string().optional(),
  client_version: z.string().optional(),
  colo_name: z.string().default('unknown'),
  // Newer schemas dropped the field: absent means an active connection.
  is_pending_reconnect: z.boolean().optional(),
  opened_at: z.string().nullish(),
  origin_ip: z.string().nullish(),
  uuid: z.string().optional(),
});

export const apiConnector = z.object({
  // Optional here so one connector without an id, or with one that is not a UUID (it would go
  // into a DELETE's client_id), is skipped (and logged), not the whole tunnel.
  id: z
    .string()
    .optional()
    .transform((id) => (id !== undefined && isUuid(id) ? id : undefined)),
  arch: z.string().nullish(),
  config_version: z.number().nullish(),
  conns: z.array(apiConnection).nullish(),
  features: z.array(z.string()).nullish(),
  run_at: z.string().nullish(),
  version: z.string().nullish(),
  ha_status: z.string().nullish(),
});
export type ApiConnector = z.infer<typeof apiConnector>;
/** Built once: a schema per call showed as 12% of busy CPU at 10,000 tunnels. */
const connectorList = z.array(apiConnector);

function connectionsPath(accountId: string, type: TunnelType, tunnelId: string): string {
  return type === 'cfd_tunnel'
    ? apiPath`/accounts/${accountId}/cfd_tunnel/${tunnelId}/connections`
    : apiPath`/accounts/${accountId}/warp_connector/${tunnelId}/connections`;
}

export async function listConnectors(
  client: ApiClient,
  accountId: string,
  type: TunnelType,
  tunnelId: string,
  signal?: AbortSignal,
  lane: Lane = 'priority',
): Promise<ApiConnector[]> {
  const { result } = await sendCloudflare(
    client,
    {
      method: 'GET',
      path: connectionsPath(accountId, type, tunnelId),
      operation: 'list_tunnel_connections',
      permission: TUNNEL_READ,
      lane,
      // A real answer is tens of kilobytes; parsing an absurd one would stall the event loop.
      maxBytes: MAX_CONNECTIONS_ANSWER_BYTES,
      signal,
    },
    connectorList,
  );
  return result;
}

/**
 * Removes one connector from a cfd_tunnel. Without `client_id` the API removes every connector of
 * the tunnel, so an empty id is refused here rather than sent.
 */
export async function deleteConnector(client: ApiClient, accountId: string, tunnelId: string, connectorId: string, signal?: AbortSignal): Promise<void> {
  if (connectorId.trim() === '') throw new Error('deleteConnector: refusing to send a DELETE without client_id');
  if (!isUuid(connectorId))
    throw new Error(`deleteConnector: refusing to send a DELETE for a connector id that is not a UUID (${JSON.stringify(connectorId.slice(0, 80))})`);
  await sendCloudflareWrite(client, {
    method: 'DELETE',
    path: connectionsPath(accountId, 'cfd_tunnel', tunnelId),
    query: { client_id: connectorId },
    operation: 'delete_tunnel_connector',
    permission: TUNNEL_WRITE,
    signal,
  });
}
