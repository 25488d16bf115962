// Polls one account's private network routes and hostname routes on ROUTES_SCHEDULE: one list
// walk each, each its own collector, so a token that may read one and not the other loses only that.
import type { Logger } from '../../log.js';
import type { SnapshotStore } from '../../snapshot/store.js';
import type { ApiClient } from '../../transport/http.js';
import { createSourcePoller, type PollReporter } from '../poll.js';
import { listHostnameRoutes, listRoutes } from './api.js';
import { normalizeHostnameRoutes, normalizeRoutes } from './normalize.js';

interface RoutesPollerOptions {
  client: ApiClient;
  accountId: string;
  store: SnapshotStore;
  reporter: PollReporter;
  now: () => number;
  log: Logger;
}

export function createRoutesPollers(options: RoutesPollerOptions) {
  const { client, accountId } = options;
  const routes = createSourcePoller({
    ...options,
    collector: 'routes',
    scope: accountId,
    skipWithoutPermission: true,
    fetch: async (signal, cuts) => normalizeRoutes(accountId, await listRoutes(client, accountId, signal), cuts),
  });
  const hostnames = createSourcePoller({
    ...options,
    collector: 'hostname_routes',
    scope: accountId,
    skipWithoutPermission: true,
    fetch: async (signal, cuts) => normalizeHostnameRoutes(accountId, await listHostnameRoutes(client, accountId, signal), cuts),
  });
  return async (signal: AbortSignal) => {
    await routes(signal);
    await hostnames(signal);
  };
}
