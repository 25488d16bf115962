// The snapshot store: the latest good data per collector and scope, and how each poll went.
// Every update replaces the snapshot with a new frozen object; readers (the renderer after each
// change, remediation after a poll, the landing page) never see a half-written state. Pollers are
// the only writers.
import type { HostnameRoute, PrivateRoute, ProxyEndpoint, ProxyRecords, Tunnel, TunnelConfiguration, TunnelConnections } from '../domain/types.js';

export const COLLECTORS = ['tunnels', 'connections', 'gateway_proxy_endpoints', 'proxy_records', 'tunnel_configurations', 'routes', 'hostname_routes'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

export interface PollOutcome {
  ok: boolean;
  /** When the poll finished (epoch ms). */
  at: number;
  durationSeconds: number;
  /** What went wrong, for the log and the landing page (redacted by the client); never a label. */
  error?: string;
  /** An optional source not polled for now: the credential lacks its permission. */
  skipped?: 'permission';
}

export interface SourceEntry<T> {
  data?: T;
  /** When `data` was last replaced by a successful poll. */
  lastSuccessAt?: number;
  last: PollOutcome;
}

export interface CollectorData {
  tunnels: Tunnel[];
  /** Per tunnel id; each tunnel's connectors carry their own `fetchedAt`. */
  connections: ReadonlyMap<string, TunnelConnections>;
  gateway_proxy_endpoints: ProxyEndpoint[];
  proxy_records: ProxyRecords;
  /** Per tunnel id, like connections; each configuration carries its own `fetchedAt`. */
  tunnel_configurations: ReadonlyMap<string, TunnelConfiguration>;
  routes: PrivateRoute[];
  hostname_routes: HostnameRoute[];
}

/** The sources read tunnel by tunnel, whose rounds the store merges (a failed read keeps the tunnel's previous data). */
export type PerTunnelCollector = 'connections' | 'tunnel_configurations';

export type Snapshot = {
  readonly [C in CollectorName]: ReadonlyMap<string, SourceEntry<CollectorData[C]>>;
} & {
  /** Status changes observed by this process, keyed by `accountId/tunnelId`. */
  readonly transitions: ReadonlyMap<string, number>;
  /** How many polls have been recorded; lets readers notice a new snapshot cheaply. */
  readonly version: number;
};

export type SnapshotListener = (snapshot: Snapshot, change: { collector: CollectorName; scope: string }) => void;

export function tunnelKey(accountId: string, tunnelId: string): string {
  return `${accountId}/${tunnelId}`;
}

/** The entry's data if its last success is recent enough to show; undefined once it is too old. */
export function freshData<T>(entry: SourceEntry<T> | undefined, now: number, maxAgeMs: number): T | undefined {
  if (!entry || entry.data === undefined || entry.lastSuccessAt === undefined) return undefined;
  return now - entry.lastSuccessAt <= maxAgeMs ? entry.data : undefined;
}

/**
 * Whether the last poll of every source failed (optional ones skipped for a missing permission
 * aside, and at least one polled): what the all_sources_failing metric and the landing page say.
 */
export function everySourceFailing(snapshot: Snapshot): boolean {
  let polled = 0;
  for (const collector of COLLECTORS) {
    for (const entry of snapshot[collector].values()) {
      if (entry.last.skipped) continue;
      if (entry.last.ok) return false;
      polled++;
    }
  }
  return polled > 0;
}

export interface SnapshotStore {
  snapshot(): Snapshot;
  recordSuccess<C extends Exclude<CollectorName, PerTunnelCollector>>(collector: C, scope: string, data: CollectorData[C], outcome: PollOutcome): void;
  recordFailure(collector: CollectorName, scope: string, outcome: PollOutcome): void;
  /**
   * Records one round of per-tunnel connection reads. `results` holds what was read; tunnels whose
   * read failed are absent and keep their previous data; tunnels no longer listed are forgotten.
   */
  recordConnections(scope: string, listedTunnelIds: ReadonlySet<string>, results: ReadonlyMap<string, TunnelConnections>, outcome: PollOutcome): void;
  /** The same for a round of configuration reads: `wanted` are the tunnels that have a configuration to read. */
  recordConfigurations(scope: string, wanted: ReadonlySet<string>, results: ReadonlyMap<string, TunnelConfiguration>, outcome: PollOutcome): void;
  subscribe(listener: SnapshotListener): () => void;
}

/** A round of per-tunnel reads merged into the previous data: what failed keeps its previous data; what is no longer wanted goes. */
function mergedReads<C extends PerTunnelCollector>(
  current: Snapshot,
  collector: C,
  scope: string,
  wanted: ReadonlySet<string>,
  results: ReadonlyMap<string, unknown>,
  outcome: PollOutcome,
): SourceEntry<CollectorData[C]> {
  const previous = current[collector].get(scope) as SourceEntry<ReadonlyMap<string, unknown>> | undefined;
  const data = new Map<string, unknown>();
  for (const id of wanted) {
    const fresh = results.get(id) ?? previous?.data?.get(id);
    if (fresh) data.set(id, fresh);
  }
  const lastSuccessAt = outcome.ok ? outcome.at : previous?.lastSuccessAt;
  return { data: data as CollectorData[C], ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}), last: outcome };
}

/** Counts status changes against the previous list, and forgets tunnels no longer listed. */
function countTransitions(current: Snapshot, scope: string, tunnels: Tunnel[]): ReadonlyMap<string, number> {
  const before = new Map((current.tunnels.get(scope)?.data ?? []).map((t) => [t.id, t.status]));
  const listed = new Set(tunnels.map((t) => tunnelKey(scope, t.id)));
  const transitions = new Map([...current.transitions].filter(([key]) => !key.startsWith(`${scope}/`) || listed.has(key)));
  for (const t of tunnels) {
    const was = before.get(t.id);
    if (was !== undefined && was !== t.status) {
      const key = tunnelKey(scope, t.id);
      transitions.set(key, (transitions.get(key) ?? 0) + 1);
    }
  }
  return transitions;
}

export function createSnapshotStore(): SnapshotStore {
  let current: Snapshot = Object.freeze({
    tunnels: new Map(),
    connections: new Map(),
    gateway_proxy_endpoints: new Map(),
    proxy_records: new Map(),
    tunnel_configurations: new Map(),
    routes: new Map(),
    hostname_routes: new Map(),
    transitions: new Map(),
    version: 0,
  });
  const listeners = new Set<SnapshotListener>();

  const replace = (collector: CollectorName, scope: string, next: Partial<Snapshot>) => {
    current = Object.freeze({ ...current, ...next, version: current.version + 1 });
    for (const listener of listeners) listener(current, { collector, scope });
  };

  const withEntry = <C extends CollectorName>(collector: C, scope: string, entry: SourceEntry<CollectorData[C]>) => {
    const map = new Map(current[collector] as ReadonlyMap<string, SourceEntry<CollectorData[C]>>);
    map.set(scope, Object.freeze(entry));
    return map;
  };

  return {
    snapshot: () => current,
    recordSuccess(collector, scope, data, outcome) {
      const extra = collector === 'tunnels' ? { transitions: countTransitions(current, scope, data as Tunnel[]) } : {};
      replace(collector, scope, {
        [collector]: withEntry(collector, scope, { data, lastSuccessAt: outcome.at, last: outcome }),
        ...extra,
      });
    },
    recordFailure(collector, scope, outcome) {
      const previous = current[collector].get(scope);
      replace(collector, scope, {
        [collector]: withEntry(collector, scope, {
          ...(previous?.data !== undefined ? { data: previous.data, lastSuccessAt: previous.lastSuccessAt } : {}),
          last: outcome,
        } as SourceEntry<never>),
      });
    },
    recordConnections(scope, listedTunnelIds, results, outcome) {
      replace('connections', scope, {
        connections: withEntry('connections', scope, mergedReads(current, 'connections', scope, listedTunnelIds, results, outcome)),
      });
    },
    recordConfigurations(scope, wanted, results, outcome) {
      const entry = mergedReads(current, 'tunnel_configurations', scope, wanted, results, outcome);
      replace('tunnel_configurations', scope, { tunnel_configurations: withEntry('tunnel_configurations', scope, entry) });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
