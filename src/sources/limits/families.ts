// Account limits that Cloudflare documents and no API reports (domain/types.ts, DOCUMENTED_LIMITS),
// beside what each account uses of them, from what the other sources already listed: no request
// of its own. Pure.
import type { Family } from '../../domain/family.js';
import { ACCOUNT_RESOURCES, type AccountLimits, type AccountResource, activeConnections } from '../../domain/types.js';
import { freshData, type Snapshot } from '../../snapshot/store.js';

/** One account: the limits, and what it uses of each (undefined while the source that tells is not read). */
export interface AccountUsage {
  accountId: string;
  limits: AccountLimits;
  usage: Partial<Record<AccountResource, number>>;
}

/** What each account listed uses, from fresh data only. `connections_per_tunnel` is the most any one of its tunnels holds. */
export function accountUsage(snapshot: Snapshot, limits: AccountLimits, now: number, maxAgeMs: number): AccountUsage[] {
  const out: AccountUsage[] = [];
  for (const [accountId, entry] of snapshot.tunnels) {
    const tunnels = freshData(entry, now, maxAgeMs);
    if (!tunnels) continue;
    const usage: AccountUsage['usage'] = {
      cfd_tunnels: tunnels.filter((t) => t.type === 'cfd_tunnel').length,
      warp_connectors: tunnels.filter((t) => t.type === 'warp_connector').length,
    };
    const routes = freshData(snapshot.routes.get(accountId), now, maxAgeMs);
    const hostnames = freshData(snapshot.hostname_routes.get(accountId), now, maxAgeMs);
    if (routes || hostnames) usage.routes = (routes?.length ?? 0) + (hostnames?.length ?? 0);
    const connections = snapshot.connections.get(accountId)?.data;
    if (connections) {
      let most = 0;
      for (const read of connections.values()) {
        let held = 0;
        for (const c of read.connectors) held += activeConnections(c);
        most = Math.max(most, held);
      }
      usage.connections_per_tunnel = most;
    }
    out.push({ accountId, limits, usage });
  }
  return out;
}

export const LIMIT_FAMILIES: Family<AccountUsage>[] = [
  {
    name: 'cloudflare_account_limit',
    help: 'A limit Cloudflare documents for the account and no API reports (cfd_tunnels, warp_connectors, routes: CIDR and hostname routes together, connections_per_tunnel); CLOUDFLARE_ACCOUNT_LIMITS overrides them for raised limits.',
    type: 'gauge',
    labels: ['account_id', 'resource'],
    samples: (a, emit) => {
      for (const resource of ACCOUNT_RESOURCES) emit([a.accountId], a.limits[resource], resource);
    },
  },
  {
    name: 'cloudflare_account_usage',
    help: 'What the account uses of each limit in cloudflare_account_limit, from what the exporter lists (connections_per_tunnel: the most any one of its tunnels holds); absent while the source that tells has not been read.',
    type: 'gauge',
    labels: ['account_id', 'resource'],
    samples: (a, emit) => {
      for (const resource of ACCOUNT_RESOURCES) {
        const used = a.usage[resource];
        if (used !== undefined) emit([a.accountId], used, resource);
      }
    },
  },
];
