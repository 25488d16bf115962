// Polls one account's Zero Trust Gateway proxy endpoints on GATEWAY_SCHEDULE: one list call.
import type { SnapshotStore } from '../../snapshot/store.js';
import type { ApiClient } from '../../transport/http.js';
import { createSourcePoller, type PollReporter } from '../poll.js';
import { listProxyEndpoints } from './api.js';
import { normalizeProxyEndpoints } from './normalize.js';

export function createGatewayPoller(options: { client: ApiClient; accountId: string; store: SnapshotStore; reporter: PollReporter }) {
  const { client, accountId } = options;
  return createSourcePoller({
    ...options,
    collector: 'gateway_proxy_endpoints',
    scope: accountId,
    fetch: async (signal, cuts) => normalizeProxyEndpoints(accountId, await listProxyEndpoints(client, accountId, signal), cuts),
  });
}
