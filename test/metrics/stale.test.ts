import { describe, expect, it } from 'vitest';
import type { ProxyRecords, Tunnel, TunnelConnections } from '../../src/domain/types.js';
import { createExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { derivedConnector, tunnelRead } from '../helpers/connectors.js';
import { samples, value } from '../helpers/exposition.js';

const T0 = Date.parse('2026-11-01T12:00:00Z');
const tunnel: Tunnel = { accountId: 'acc', id: 't1', name: 'api', type: 'cfd_tunnel', status: 'healthy', configSrc: 'cloudflare', createdAt: T0 - 1000 };
const records: ProxyRecords = {
  records: [{ organizationId: 'org', id: 'r1', domain: 'ph.example.com', targetCname: 'x.proxy-us.posthog.com', status: 'erroring', updatedAt: T0 }],
  maxProxyRecords: 5,
};

function setup() {
  let now = T0;
  const store = createSnapshotStore();
  const metrics = createExporterMetrics({
    snapshot: store.snapshot,
    staleDataMaxAgeMs: 600_000,
    intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
    now: () => now,
  });
  return { store, scrape: () => metrics.renderOwn(), advance: (ms: number) => (now += ms), at: () => now };
}

describe('stale data', () => {
  it('keeps the last values while a source fails, for at most STALE_DATA_MAX_AGE, then drops them', async () => {
    const { store, scrape, advance, at } = setup();
    store.recordSuccess('tunnels', 'acc', [tunnel], { ok: true, at: at(), durationSeconds: 0.1 });
    store.recordSuccess('proxy_records', 'org', records, { ok: true, at: at(), durationSeconds: 0.1 });

    advance(60_000);
    store.recordFailure('tunnels', 'acc', { ok: false, at: at(), durationSeconds: 0.2, error: 'HTTP 500' });
    let text = await scrape();
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: 'acc' })).toBe(0);
    expect(value(text, 'cloudflare_tunnel_status', { tunnel_id: 't1', status: 'healthy' })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_last_success_timestamp_seconds', { collector: 'tunnels', scope: 'acc' })).toBe(T0 / 1000);

    advance(540_001); // 10m + 1ms after the last success
    text = await scrape();
    expect(samples(text, 'cloudflare_tunnel_status')).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_info')).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_status_transitions_total')).toEqual([]);
    // The records source has not been polled again either: its series go as well.
    expect(samples(text, 'posthog_proxy_record_status')).toEqual([]);
    expect(samples(text, 'posthog_proxy_records_max')).toEqual([]);
    // Health series stay: they are how the user sees what is wrong.
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: 'acc' })).toBe(0);

    store.recordSuccess('tunnels', 'acc', [{ ...tunnel, status: 'down' }], { ok: true, at: at(), durationSeconds: 0.1 });
    text = await scrape();
    expect(value(text, 'cloudflare_tunnel_status', { tunnel_id: 't1', status: 'down' })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: 'acc' })).toBe(1);
  });

  it('removes a deleted tunnel at the next scrape after the poll that no longer lists it', async () => {
    const { store, scrape, at } = setup();
    store.recordSuccess('tunnels', 'acc', [tunnel, { ...tunnel, id: 't2', name: 'web' }], { ok: true, at: at(), durationSeconds: 0.1 });
    expect(samples(await scrape(), 'cloudflare_tunnel_info')).toHaveLength(2);
    store.recordSuccess('tunnels', 'acc', [tunnel], { ok: true, at: at(), durationSeconds: 0.1 });
    expect(samples(await scrape(), 'cloudflare_tunnel_info').map((s) => s.labels.tunnel_id)).toEqual(['t1']);
  });

  it('exports every proxy record status as a state set, unknown included', async () => {
    const { store, scrape, at } = setup();
    store.recordSuccess('proxy_records', 'org', records, { ok: true, at: at(), durationSeconds: 0.1 });
    const states = samples(await scrape(), 'posthog_proxy_record_status', { record_id: 'r1' });
    expect(Object.fromEntries(states.map((s) => [s.labels.status, s.value]))).toEqual({
      waiting: 0,
      issuing: 0,
      valid: 0,
      warning: 0,
      erroring: 1,
      deleting: 0,
      timed_out: 0,
      unknown: 0,
    });
  });

  it("names in each cached metric's HELP the schedule it is polled on, not the schedule's value (HELP does not change with the configuration)", async () => {
    const { scrape } = setup();
    const text = await scrape();
    const help = (name: string) => text.split('\n').find((l) => l.startsWith(`# HELP ${name} `)) ?? '';
    expect(help('cloudflare_tunnel_status')).toMatch(/ Polled on TUNNELS_SCHEDULE\.$/);
    expect(help('cloudflare_gateway_proxy_endpoint_info')).toMatch(/ Polled on GATEWAY_SCHEDULE\.$/);
    expect(help('posthog_proxy_record_status')).toMatch(/ Polled on PROXY_RECORDS_SCHEDULE\.$/);
    expect(text).not.toMatch(/^# HELP .*(30s|every 5m|every 1m)/m);
  });

  /** Two listed tunnels whose connections were read at the start; then 10 minutes and 1 ms pass and the list is read again. */
  function twoTunnelsReadLongAgo() {
    const { store, scrape, advance, at } = setup();
    const other: Tunnel = { ...tunnel, id: 't2', name: 'web' };
    const read = (id: string, fetchedAt: number): TunnelConnections =>
      tunnelRead(id, [derivedConnector(`${id}-c`, [{ id: `${id}-c-1`, colo: 'ams01', flaggedPending: false }])], fetchedAt);
    const first = at();
    store.recordSuccess('tunnels', 'acc', [tunnel, other], { ok: true, at: first, durationSeconds: 0.1 });
    store.recordConnections(
      'acc',
      new Set(['t1', 't2']),
      new Map([
        ['t1', read('t1', first)],
        ['t2', read('t2', first)],
      ]),
      { ok: true, at: first, durationSeconds: 0.1 },
    );
    advance(600_001);
    store.recordSuccess('tunnels', 'acc', [tunnel, other], { ok: true, at: at(), durationSeconds: 0.1 });
    return { store, scrape, at, read, first };
  }

  it("drops one tunnel's connection series when its read fails and its last good read is older than STALE_DATA_MAX_AGE, while the list is fresh", async () => {
    const { store, scrape, at, read, first } = twoTunnelsReadLongAgo();
    // t2 is read again; t1's read fails, and the refresh keeps its last good data with the error.
    store.recordConnections(
      'acc',
      new Set(['t1', 't2']),
      new Map([
        ['t1', { ...read('t1', first), error: 'HTTP 500' }],
        ['t2', read('t2', at())],
      ]),
      {
        ok: false,
        at: at(),
        durationSeconds: 0.1,
        error: '1 of 2 failed',
      },
    );
    const text = await scrape();
    expect(value(text, 'cloudflare_tunnel_status', { tunnel_id: 't1', status: 'healthy' })).toBe(1);
    expect(samples(text, 'cloudflare_tunnel_connections', { tunnel_id: 't1' })).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_connector_info', { tunnel_id: 't1' })).toEqual([]);
    expect(value(text, 'cloudflare_tunnel_connections', { tunnel_id: 't2', colo: 'ams01' })).toBe(1);
  });

  it('keeps connection series however old their data while the list is fresh and no read of them failed (the budget has not come round yet)', async () => {
    const { scrape } = twoTunnelsReadLongAgo();
    const text = await scrape();
    for (const id of ['t1', 't2']) {
      expect(value(text, 'cloudflare_tunnel_connections', { tunnel_id: id, colo: 'ams01' }), id).toBe(1);
      expect(value(text, 'cloudflare_tunnel_connectors', { tunnel_id: id }), id).toBe(1);
    }
    // How old the data is stays visible.
    expect(value(text, 'cloudflare_tunnel_exporter_connections_age_seconds', { scope: 'acc', percentile: '100' })).toBeCloseTo(600.001, 3);
  });
});
