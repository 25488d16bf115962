// Polls one Cloudflare account's tunnel list (cfd_tunnel and warp_connector, one walk of
// /tunnels?tun_types=) on TUNNELS_SCHEDULE: the `tunnels` collector. Its own job, so tunnel status
// is fresh every interval whatever the fleet size; each new list goes to the connections refresher
// (./refresher.ts), which reads connectors continuously within what the budget leaves.

import { TUNNEL_TYPES, type Tunnel } from '../../domain/types.js';
import type { Logger } from '../../log.js';
import type { SnapshotStore } from '../../snapshot/store.js';
import type { ApiClient } from '../../transport/http.js';
import { noCuts } from '../answer.js';
import { isAbort, type PollReporter } from '../poll.js';
import { listTunnels } from './api.js';
import { normalizeTunnels } from './normalize.js';
import type { ConnectionsRefresher } from './refresher.js';

export interface TunnelsPollerOptions {
  client: ApiClient;
  accountId: string;
  store: SnapshotStore;
  reporter: PollReporter;
  refresher: ConnectionsRefresher;
  log?: Logger;
}

export function createTunnelsPoller(options: TunnelsPollerOptions): (signal: AbortSignal) => Promise<void> {
  const { client, accountId, store, reporter, refresher } = options;
  return async function pollTunnels(signal) {
    const finish = reporter.begin();
    let tunnels: Tunnel[];
    try {
      const listed = await listTunnels(client, accountId, signal, (count) =>
        options.log?.warn({ account_id: accountId, repeated_ids: count }, 'tunnel list pages repeated ids (tunnels moved while paging): skipped the repeats'),
      );
      const cuts = noCuts();
      tunnels = TUNNEL_TYPES.flatMap((type) =>
        normalizeTunnels(
          accountId,
          type,
          listed.filter((t) => t.tun_type === type),
          cuts,
        ),
      );
      reporter.cut(cuts);
    } catch (err) {
      if (isAbort(err, signal)) return;
      store.recordFailure('tunnels', accountId, finish(false, err));
      reporter.failed('tunnels', accountId, err);
      return;
    }
    const outcome = finish(true);
    store.recordSuccess('tunnels', accountId, tunnels, outcome);
    reporter.succeeded('tunnels', accountId, outcome, tunnels.length);
    refresher.update(accountId, tunnels);
  };
}
