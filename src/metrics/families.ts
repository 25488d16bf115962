// The snapshot's families in the order /metrics shows them: each source's table (its own folder
// under sources/), then poll health, with what each takes from the snapshot. A family's HELP ends
// with the setting its source is polled on (the setting, not its value: HELP does not change with
// the configuration; why the exporter polls on a timer is the README's).
import type { Family } from '../domain/family.js';
import { type AccountLimits, DOCUMENTED_LIMITS } from '../domain/types.js';
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

export function snapshotFamilies(accountLimits: AccountLimits = DOCUMENTED_LIMITS): SnapshotFamilies {
  return {
    tunnels: [
      ...tunnelFamilies('Polled on TUNNELS_SCHEDULE.'),
      ...configurationFamilies('Read when listed, when a connector reports a newer version, and on CONFIGURATIONS_SCHEDULE.'),
    ],
    rest: [
      gateway('Polled on GATEWAY_SCHEDULE.'),
      proxyRecords('Polled on PROXY_RECORDS_SCHEDULE.'),
      routes('Polled on ROUTES_SCHEDULE.'),
      hostnameRoutes('Polled on ROUTES_SCHEDULE.'),
      limits(accountLimits),
      health,
    ],
  };
}

/** Every snapshot family, in exposition order (docs and tests read their names and labels). */
export function domainFamilies(): Family<unknown>[] {
  const { tunnels, rest } = snapshotFamilies();
  return [...(tunnels as Family<unknown>[]), ...rest.flatMap((g) => g.families)];
}
