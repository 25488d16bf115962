// The snapshot store: the latest good data per collector and scope, and how each poll went.
// Every update replaces the snapshot with a new frozen object; readers (the renderer after each
// change, remediation after a poll, the landing page) never see a half-written state. Pollers are
// the only writers.
import type { ProxyEndpoint, ProxyRecords, Tunnel, TunnelConnections } from '../domain/types.js';

export const COLLECTORS = ['tunnels', 'connections', 'gateway_proxy_endpoints', 'proxy_records'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

export interface PollOutcome {
  ok: boolean;
  /** When the poll finished (epoch ms). */
  at: number;
  durationSeconds: number;
  /** What went wrong, for the log and the landing page (redacted by the client); never a label. */
  error?: string;
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
}

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

export interface SnapshotStore {
  snapshot(): Snapshot;
  recordSuccess<C extends Exclude<CollectorName, 'connections'>>(collector: C, scope: string, data: CollectorData[C], outcome: PollOutcome): void;
  recordFailure(collector: CollectorName, scope: string, outcome: PollOutcome): void;
  /**
   * Records one round of per-tunnel connection reads. `results` holds what was read; tunnels whose
   * read failed are absent and keep their previous data; tunnels no longer listed are forgotten.
   */
  recordConnections(scope: string, listedTunnelIds: ReadonlySet<string>, results: ReadonlyMap<string, TunnelConnections>, outcome: PollOutcome): void;
  subscribe(listener: SnapshotListener): () => void;
}

export function createSnapshotStore(): SnapshotStore {
  let current: Snapshot = Object.freeze({
    tunnels: new Map(),
    connections: new Map(),
    gateway_proxy_endpoints: new Map(),
    proxy_records: new Map(),
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

  /** Counts status changes against the previous list, and forgets tunnels no longer listed. */
  const countTransitions = (scope: string, tunnels: Tunnel[]): ReadonlyMap<string, number> => {
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
  };

  return {
    snapshot: () => current,
    recordSuccess(collector, scope, data, outcome) {
      const extra = collector === 'tunnels' ? { transitions: countTransitions(scope, data as Tunnel[]) } : {};
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
      const previous = current.connections.get(scope);
      const merged = new Map<string, TunnelConnections>();
      for (const id of listedTunnelIds) {
        const fresh = results.get(id) ?? previous?.data?.get(id);
        if (fresh) merged.set(id, fresh);
      }
      const lastSuccessAt = outcome.ok ? outcome.at : previous?.lastSuccessAt;
      replace('connections', scope, {
        connections: withEntry('connections', scope, {
          data: merged,
          ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}),
          last: outcome,
        }),
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
