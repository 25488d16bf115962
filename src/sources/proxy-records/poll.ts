// Polls one organization's PostHog proxy records on PROXY_RECORDS_SCHEDULE: one list call.
import type { SnapshotStore } from '../../snapshot/store.js';
import type { ApiClient } from '../../transport/http.js';
import { createSourcePoller, type PollReporter } from '../poll.js';
import { listProxyRecords } from './api.js';
import { normalizeProxyRecords } from './normalize.js';

export function createProxyRecordsPoller(options: { client: ApiClient; organizationId: string; store: SnapshotStore; reporter: PollReporter }) {
  const { client, organizationId } = options;
  return createSourcePoller({
    ...options,
    collector: 'proxy_records',
    scope: organizationId,
    fetch: async (signal, cuts) => normalizeProxyRecords(organizationId, await listProxyRecords(client, organizationId, signal), cuts),
  });
}
