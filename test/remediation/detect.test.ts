import { describe, expect, it } from 'vitest';
import type { Connector, Tunnel, TunnelConnections } from '../../src/domain/types.js';
import { type StaleConnector, staleConnectorPolicy } from '../../src/remediation/delete-stale-connector.js';
import { findStaleConnectors, type StalenessTracker, staleShare, trackStaleness } from '../../src/remediation/detect.js';
import { recordBackoffMs, sourceProblem } from '../../src/remediation/engine.js';
import { blockedBy, type Candidate } from '../../src/remediation/pipeline.js';
import { createSnapshotStore, type SnapshotStore } from '../../src/snapshot/store.js';
import { derivedConnector } from '../helpers/connectors.js';

const MIN = 60_000;
const tunnel: Tunnel = { accountId: 'a', id: 't', name: 'api', type: 'cfd_tunnel', status: 'degraded', configSrc: 'cloudflare' };
/** A connector holding `active` connections with `pending` gone; `restarted`: its successor was seen arriving. */
const connector = (id: string, active: number, pending: number, restarted = false): Connector =>
  derivedConnector(
    id,
    // Held connections, and connections gone since an earlier poll (pending reconnect).
    Array.from({ length: active }, (_, i) => ({ id: `${id}-${i}`, colo: 'ams01', flaggedPending: false })),
    {
      expected: active + pending,
      counts: [active + pending],
      replaced: restarted,
      successorSeen: restarted,
      gone: Array.from({ length: pending }, (_, i) => ({ id: `${id}-gone-${i}`, colo: 'ams01' })),
    },
  );

function poll(store: SnapshotStore, at: number, connectors: Connector[], ok = true, tunnels: Tunnel[] = [tunnel]) {
  store.recordSuccess('tunnels', 'a', tunnels, { ok: true, at, durationSeconds: 0 });
  const results = new Map<string, TunnelConnections>(
    ok ? [['t', { tunnelId: 't', connectors, reconnects: new Map(), replacements: 0, fetchedAt: at, fetched: true }]] : [],
  );
  store.recordConnections('a', new Set(tunnels.map((t) => t.id)), results, { ok, at, durationSeconds: 0 });
}

describe('stale connector policy', () => {
  it('needs an unbroken run of successful polls without an active connection for STALE_CONNECTOR_AFTER', () => {
    const store = createSnapshotStore();
    let tracker: StalenessTracker = new Map();
    const observe = (at: number, connectors: Connector[], ok = true) => {
      poll(store, at, connectors, ok);
      tracker = trackStaleness(tracker, store.snapshot(), 'a');
      return findStaleConnectors(store.snapshot(), tracker, 'a', 15 * MIN);
    };
    const fresh = connector('new', 4, 0);
    expect(observe(0, [connector('old', 0, 4), fresh])).toEqual([]);
    expect(observe(10 * MIN, [connector('old', 0, 4), fresh])).toEqual([]);
    // A failed poll neither extends the run nor resets it.
    expect(observe(20 * MIN, [connector('old', 0, 4), fresh], false)).toEqual([]);
    const stale = observe(25 * MIN, [connector('old', 0, 4), fresh]);
    expect(stale).toEqual([expect.objectContaining({ connectorId: 'old', staleForMs: 25 * MIN, hasActiveSibling: true })]);
    // One active connection resets the run.
    expect(observe(30 * MIN, [connector('old', 1, 3), fresh])).toEqual([]);
    expect(observe(40 * MIN, [connector('old', 0, 4), fresh])).toEqual([]);
  });

  it('counts a connector with no connections at all as stale, and knows when no sibling is active', () => {
    const store = createSnapshotStore();
    poll(store, 0, [connector('only', 0, 0)]);
    let tracker = trackStaleness(new Map(), store.snapshot(), 'a');
    poll(store, 20 * MIN, [connector('only', 0, 0)]);
    tracker = trackStaleness(tracker, store.snapshot(), 'a');
    expect(findStaleConnectors(store.snapshot(), tracker, 'a', 15 * MIN)).toEqual([expect.objectContaining({ connectorId: 'only', hasActiveSibling: false })]);
  });

  it('never proposes WARP connectors', () => {
    const store = createSnapshotStore();
    const warp = { ...tunnel, type: 'warp_connector' as const };
    poll(store, 0, [connector('w', 0, 2), connector('x', 2, 0)], true, [warp]);
    let tracker = trackStaleness(new Map(), store.snapshot(), 'a');
    poll(store, 20 * MIN, [connector('w', 0, 2), connector('x', 2, 0)], true, [warp]);
    tracker = trackStaleness(tracker, store.snapshot(), 'a');
    expect(findStaleConnectors(store.snapshot(), tracker, 'a', 15 * MIN)).toEqual([]);
  });

  it('measures the share of connectors without an active connection among tunnels that have an active one', () => {
    const store = createSnapshotStore();
    poll(store, 0, [connector('1', 0, 4), connector('2', 0, 0), connector('3', 4, 0)]);
    expect(staleShare(store.snapshot(), 'a')).toBeCloseTo(2 / 3);
    // A down tunnel (no active connector) does not count: the tunnel being down explains it.
    const down = { ...tunnel, id: 'down', status: 'down' as const };
    store.recordSuccess('tunnels', 'a', [tunnel, down], { ok: true, at: 1, durationSeconds: 0 });
    store.recordConnections(
      'a',
      new Set(['t', 'down']),
      new Map([
        ['t', { tunnelId: 't', connectors: [connector('1', 0, 4), connector('3', 4, 0)], reconnects: new Map(), replacements: 0, fetchedAt: 1, fetched: true }],
        [
          'down',
          {
            tunnelId: 'down',
            connectors: [connector('4', 0, 4), connector('5', 0, 4), connector('6', 0, 4)],
            reconnects: new Map(),
            replacements: 0,
            fetchedAt: 1,
            fetched: true,
          },
        ],
      ]),
      { ok: true, at: 1, durationSeconds: 0 },
    );
    expect(staleShare(store.snapshot(), 'a')).toBeCloseTo(1 / 2);
  });
});

describe('guards', () => {
  it('refuses a source whose last poll failed or whose data is older than the limit', () => {
    const ok = { data: 1, lastSuccessAt: 1000, last: { ok: true, at: 1000, durationSeconds: 0 } };
    expect(sourceProblem([ok], 1500, 1000)).toBeUndefined();
    expect(sourceProblem([ok], 2001, 1000)).toBe('data_stale');
    expect(sourceProblem([{ ...ok, last: { ok: false, at: 1200, durationSeconds: 0 } }], 1300, 1000)).toBe('source_failed');
    expect(sourceProblem([undefined], 0, 1000)).toBe('source_failed');
  });

  it('backs a record off by doubling the cooldown per attempt, at most 24h', () => {
    const hour = 3_600_000;
    expect([1, 2, 3, 4, 5, 6].map((n) => recordBackoffMs(hour, n) / hour)).toEqual([1, 2, 4, 8, 16, 24]);
  });
});

describe("stale connector policy: the target's own data", () => {
  it('blocks a candidate whose own connections were read longer ago than STALE_DATA_MAX_AGE', () => {
    const store = createSnapshotStore();
    let clock = 0;
    const policy = staleConnectorPolicy({
      mode: 'on',
      client: {} as never,
      staleAfterMs: 15 * MIN,
      cooldownMs: 60 * MIN,
      intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
      maxDataAgeMs: 10 * MIN,
      now: () => clock,
    });
    const observe = (at: number) => {
      clock = at;
      // A restart the exporter watched: the old connector empty beside its successor.
      poll(store, at, [connector('old', 0, 0, true), connector('new', 4, 0)]);
      return policy.candidates(store.snapshot(), 'a');
    };
    observe(0);
    const blocked = (c: Candidate<StaleConnector> | undefined) => (c ? blockedBy(policy.blockers, c) : 'no candidate');
    expect(blocked(observe(20 * MIN)[0])).toBeUndefined();
    // The list is polled again, the tunnel's connections are not (its read is not due yet).
    clock = 31 * MIN;
    store.recordSuccess('tunnels', 'a', [tunnel], { ok: true, at: clock, durationSeconds: 0 });
    expect(blocked(policy.candidates(store.snapshot(), 'a')[0])).toMatchObject({ skip: 'data_stale' });
    // Read again, but that read failed: the data is the old one, marked with the error.
    const previous = store.snapshot().connections.get('a')?.data?.get('t');
    store.recordConnections('a', new Set(['t']), new Map([['t', { ...(previous as TunnelConnections), error: 'HTTP 500' }]]), {
      ok: false,
      at: clock,
      durationSeconds: 0,
    });
    expect(blocked(policy.candidates(store.snapshot(), 'a')[0])).toMatchObject({
      skip: 'source_failed',
      reason: 'the latest connections read of this tunnel failed: HTTP 500',
    });
  });
});
