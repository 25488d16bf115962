// The snapshot's families in the order /metrics shows them: each source's table (its own folder
// under sources/), then poll health, with what each takes from the snapshot. A family's HELP ends
// with how often its source is polled.
import { formatDuration } from '../config/duration.js';
import type { Family } from '../domain/family.js';
import { type AccountLimits, DOCUMENTED_LIMITS, type PollIntervals } from '../domain/types.js';
import { COLLECTORS, freshData, type Snapshot } from '../snapshot/store.js';
import { configurationFamilies } from '../sources/configurations/families.js';
import { gatewayFamilies } from '../sources/gateway/families.js';
import { HEALTH_FAMILIES, type PollHealth } from '../sources/health.js';
import { accountUsage, LIMIT_FAMILIES } from '../sources/limits/families.js';
import { type OrganizationRecords, proxyRecordFamilies } from '../sources/proxy-records/families.js';
import { hostnameRouteFamilies, routeFamilies } from '../sources/routes/families.js';
import { type TunnelView, tunnelFamilies } from '../sources/tunnels/families.js';

/** Families of a small source, rendered whole at every render from the items the snapshot holds now. */
export interface FamilyGroup<T> {
  families: Family<T>[];
  items(snapshot: Snapshot, now: number, maxAgeMs: number): T[];
}

export interface SnapshotFamilies {
  /** Rendered per tunnel, in blocks (./snapshot-exposition.ts); first in the exposition. */
  tunnels: Family<TunnelView>[];
  rest: FamilyGroup<unknown>[];
}

const WHY = 'Cloudflare allows 1200 API requests per 5 minutes per user, so the exporter polls on a timer and never calls the API at scrape time';

const gateway: (polled: string) => FamilyGroup<unknown> = (polled) => ({
  families: gatewayFamilies(polled),
  items: (snapshot, now, maxAgeMs) => [...snapshot.gateway_proxy_endpoints.values()].flatMap((entry) => freshData(entry, now, maxAgeMs) ?? []),
});

const proxyRecords: (polled: string) => FamilyGroup<unknown> = (polled) => ({
  families: proxyRecordFamilies(polled),
  items: (snapshot, now, maxAgeMs) => {
    const out: OrganizationRecords[] = [];
    for (const [organizationId, entry] of snapshot.proxy_records) {
      const data = freshData(entry, now, maxAgeMs);
      if (data) out.push({ organizationId, data });
    }
    return out;
  },
});

const routes: (polled: string) => FamilyGroup<unknown> = (polled) => ({
  families: routeFamilies(polled),
  items: (snapshot, now, maxAgeMs) => [...snapshot.routes.values()].flatMap((entry) => freshData(entry, now, maxAgeMs) ?? []),
});

const hostnameRoutes: (polled: string) => FamilyGroup<unknown> = (polled) => ({
  families: hostnameRouteFamilies(polled),
  items: (snapshot, now, maxAgeMs) => [...snapshot.hostname_routes.values()].flatMap((entry) => freshData(entry, now, maxAgeMs) ?? []),
});

const limits = (documented: AccountLimits): FamilyGroup<unknown> => ({
  families: LIMIT_FAMILIES,
  items: (snapshot, now, maxAgeMs) => accountUsage(snapshot, documented, now, maxAgeMs),
});

const health: FamilyGroup<unknown> = {
  families: HEALTH_FAMILIES,
  items: (snapshot) => COLLECTORS.flatMap((collector) => [...snapshot[collector]].map(([scope, entry]): PollHealth => ({ collector, scope, entry }))),
};

export function snapshotFamilies(intervals: PollIntervals, accountLimits: AccountLimits = DOCUMENTED_LIMITS): SnapshotFamilies {
  const every = (s: number) => formatDuration(s * 1000, { largest: 'h' });
  return {
    tunnels: [
      ...tunnelFamilies(`Polled every ${every(intervals.tunnelsSeconds)} (TUNNELS_SCHEDULE); ${WHY}.`),
      ...configurationFamilies(
        `Read when the tunnel is first listed, when a connector reports a newer version, and every ${every(intervals.configurationsSeconds ?? 3600)} (CONFIGURATIONS_SCHEDULE); ${WHY}.`,
      ),
    ],
    rest: [
      gateway(`Polled every ${every(intervals.gatewaySeconds)} (GATEWAY_SCHEDULE); ${WHY}.`),
      proxyRecords(`Polled every ${every(intervals.proxyRecordsSeconds)} (PROXY_RECORDS_SCHEDULE) from the PostHog API, not at scrape time.`),
      routes(`Polled every ${every(intervals.routesSeconds ?? 300)} (ROUTES_SCHEDULE); ${WHY}.`),
      hostnameRoutes(`Polled every ${every(intervals.routesSeconds ?? 300)} (ROUTES_SCHEDULE); ${WHY}.`),
      limits(accountLimits),
      health,
    ],
  };
}

/** Every snapshot family, in exposition order (docs and tests read their names and labels). */
export function domainFamilies(intervals: PollIntervals): Family<unknown>[] {
  const { tunnels, rest } = snapshotFamilies(intervals);
  return [...(tunnels as Family<unknown>[]), ...rest.flatMap((g) => g.families)];
}
