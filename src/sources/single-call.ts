// Pollers for the sources that are one list call per scope: Gateway proxy endpoints per account
// and PostHog proxy records per organization. (Tunnels need two stages: see ./tunnels.ts.)

import type { CollectorData, CollectorName, SnapshotStore } from '../snapshot/store.js';
import type { ApiClient } from '../transport/http.js';
import { noCuts } from './answer.js';
import { listProxyEndpoints } from './gateway/api.js';
import { isAbort, type PollReporter } from './poll.js';
import { listProxyRecords } from './proxy-records/api.js';
import { normalizeProxyEndpoints, normalizeProxyRecords } from './tunnels/normalize.js';

type SingleCallCollector = Exclude<CollectorName, 'tunnels' | 'connections'>;

interface SourcePollerOptions<C extends SingleCallCollector> {
  collector: C;
  scope: string;
  store: SnapshotStore;
  reporter: PollReporter;
  fetch: (signal: AbortSignal) => Promise<CollectorData[C]>;
}

function createSourcePoller<C extends SingleCallCollector>(options: SourcePollerOptions<C>): (signal: AbortSignal) => Promise<void> {
  const { collector, scope, store, reporter } = options;
  return async (signal) => {
    const finish = reporter.begin();
    try {
      const data = await options.fetch(signal);
      store.recordSuccess(collector, scope, data, finish(true));
      reporter.succeeded(collector, scope);
    } catch (err) {
      if (isAbort(err, signal)) return;
      store.recordFailure(collector, scope, finish(false, err));
      reporter.failed(collector, scope, err);
    }
  };
}

export function createGatewayPoller(options: { client: ApiClient; accountId: string; store: SnapshotStore; reporter: PollReporter }) {
  const { client, accountId } = options;
  return createSourcePoller({
    ...options,
    collector: 'gateway_proxy_endpoints',
    scope: accountId,
    fetch: async (signal) => {
      const cuts = noCuts();
      const endpoints = normalizeProxyEndpoints(accountId, await listProxyEndpoints(client, accountId, signal), cuts);
      options.reporter.cut(cuts);
      return endpoints;
    },
  });
}

export function createProxyRecordsPoller(options: { client: ApiClient; organizationId: string; store: SnapshotStore; reporter: PollReporter }) {
  const { client, organizationId } = options;
  return createSourcePoller({
    ...options,
    collector: 'proxy_records',
    scope: organizationId,
    fetch: async (signal) => {
      const cuts = noCuts();
      const records = normalizeProxyRecords(organizationId, await listProxyRecords(client, organizationId, signal), cuts);
      options.reporter.cut(cuts);
      return records;
    },
  });
}
