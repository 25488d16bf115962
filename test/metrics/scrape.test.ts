// /metrics is served from the last complete render: a scrape never waits for one (once there is
// one), a change shows once the background render after it is done, and the gzip body (the
// pre-rendered domain part and the self-metrics) is one gzip member that decodes to the whole text.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Tunnel, TunnelConnections } from '../../src/domain/types.js';
import { createExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { samples, value } from '../helpers/exposition.js';
import { firstMember } from '../helpers/gzip.js';

const T0 = Date.now();
const tunnel = (status: Tunnel['status']): Tunnel => ({ accountId: 'acc', id: 't1', name: 'api', type: 'cfd_tunnel', status, configSrc: 'cloudflare' });

function setup(now?: () => number) {
  const store = createSnapshotStore();
  const metrics = createExporterMetrics({
    snapshot: store.snapshot,
    subscribe: (listener) => store.subscribe(listener),
    staleDataMaxAgeMs: 600_000,
    intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
    ...(now ? { now } : {}),
  });
  const scrape = async (gzipped = false) => {
    const body = await metrics.scrape(gzipped);
    const parts: Buffer[] = [];
    for await (const part of body.prerendered) parts.push(part);
    // The server sends Content-Length from it.
    expect(body.length).toBe(Buffer.concat(parts).length);
    const bytes = Buffer.concat([...parts, await body.live()]);
    if (!gzipped) return bytes.toString('utf8');
    // One gzip member: a client that reads only the first (a browser, curl --compressed) gets it all.
    const first = firstMember(bytes);
    expect(first.after).toBe(8);
    expect(first.text.equals(gunzipSync(bytes))).toBe(true);
    return first.text.toString('utf8');
  };
  /** Scrapes every 20 ms, up to 2 s, until the tunnel's status is `status`; the last value seen. */
  const scrapeUntil = async (status: Tunnel['status'], gzipped = false) => {
    let seen: number | undefined;
    for (let i = 0; i < 100 && seen !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = value(await scrape(gzipped), 'cloudflare_tunnel_status', { status });
    }
    return seen;
  };
  return { store, metrics, scrape, scrapeUntil };
}

describe('pre-rendered /metrics', () => {
  it('serves the last complete render at once, and the change after the background render', async () => {
    const { store, scrape, scrapeUntil } = setup();
    store.recordSuccess('tunnels', 'acc', [tunnel('healthy')], { ok: true, at: T0, durationSeconds: 0 });
    expect(value(await scrape(), 'cloudflare_tunnel_status', { status: 'healthy' })).toBe(1);

    store.recordSuccess('tunnels', 'acc', [tunnel('down')], { ok: true, at: T0, durationSeconds: 0 });
    // Right after the change: the previous render, not a render in the scrape's path.
    expect(value(await scrape(), 'cloudflare_tunnel_status', { status: 'healthy' })).toBe(1);
    expect(await scrapeUntil('down')).toBe(1);
  });

  it('never serves a render that lacks a source the snapshot has (the first scrape after readiness)', async () => {
    const { store, scrape } = setup();
    // Gateway answers first; a render of that is done before the tunnel list arrives.
    store.recordSuccess('gateway_proxy_endpoints', 'acc', [], { ok: true, at: T0, durationSeconds: 0 });
    await scrape();
    store.recordSuccess('tunnels', 'acc', [tunnel('healthy')], { ok: true, at: T0, durationSeconds: 0 });
    expect(value(await scrape(), 'cloudflare_tunnel_status', { status: 'healthy' })).toBe(1);
  });

  it('renders a change at once even while a render for a series expiring later is waiting', async () => {
    const { store, scrape, scrapeUntil } = setup();
    store.recordSuccess('tunnels', 'acc', [tunnel('healthy')], { ok: true, at: T0, durationSeconds: 0 });
    await scrape();
    // Let the render finish and its follow-up (the expiry, ten minutes out) be scheduled.
    await new Promise((r) => setTimeout(r, 100));
    store.recordSuccess('tunnels', 'acc', [tunnel('degraded')], { ok: true, at: T0, durationSeconds: 0 });
    expect(await scrapeUntil('degraded')).toBe(1);
  });

  it('gzips the whole exposition: both parts decode, in order', async () => {
    const { store, scrape } = setup();
    store.recordSuccess('tunnels', 'acc', [tunnel('healthy')], { ok: true, at: T0, durationSeconds: 0 });
    const plain = await scrape();
    const zipped = await scrape(true);
    expect(zipped).toContain('cloudflare_tunnel_status{');
    expect(zipped).toContain('cloudflare_tunnel_exporter_build_info{');
    expect(zipped.indexOf('cloudflare_tunnel_status{')).toBeLessThan(zipped.indexOf('cloudflare_tunnel_exporter_build_info{'));
    expect(
      zipped
        .split('\n')
        .filter((l) => l.startsWith('cloudflare_tunnel_status'))
        .sort(),
    ).toEqual(
      plain
        .split('\n')
        .filter((l) => l.startsWith('cloudflare_tunnel_status'))
        .sort(),
    );
  });

  it('serves the newest finished gzip, and each change once its gzip is done', async () => {
    const { store, scrape, scrapeUntil } = setup();
    store.recordSuccess('tunnels', 'acc', [tunnel('healthy')], { ok: true, at: T0, durationSeconds: 0 });
    expect(value(await scrape(true), 'cloudflare_tunnel_status', { status: 'healthy' })).toBe(1);
    for (const status of ['down', 'degraded', 'healthy'] as const) {
      store.recordSuccess('tunnels', 'acc', [tunnel(status)], { ok: true, at: T0, durationSeconds: 0 });
      expect(await scrapeUntil(status, true)).toBe(1);
    }
  });

  it("reports the event loop's lag from Node's monitor (a blocked loop shows)", async () => {
    const { scrape } = setup();
    await scrape();
    // A timer callback that holds the event loop for 60 ms.
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        const until = performance.now() + 60;
        while (performance.now() < until) {
          // busy
        }
        resolve();
      }, 20),
    );
    await new Promise((r) => setTimeout(r, 30));
    expect(value(await scrape(), 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.04);
  });

  it('exposes the age of the connections data as percentiles over the tunnels', async () => {
    let clock = T0;
    const { store, metrics } = setup(() => clock);
    const read = (id: string, at: number): [string, TunnelConnections] => [
      id,
      { tunnelId: id, connectors: [], reconnects: new Map(), replacements: 0, fetchedAt: at, fetched: true },
    ];
    // Read 10, 20, 30 and 40 seconds before the scrape (listed in another order than their age).
    store.recordConnections(
      'acc',
      new Set(['c', 'a', 'd', 'b']),
      new Map([read('c', T0 - 20_000), read('a', T0 - 40_000), read('d', T0 - 10_000), read('b', T0 - 30_000)]),
      { ok: true, at: T0, durationSeconds: 0 },
    );
    const text = await metrics.renderOwn();
    expect(value(text, 'cloudflare_tunnel_exporter_connections_age_seconds', { scope: 'acc', percentile: '50' })).toBe(20);
    expect(value(text, 'cloudflare_tunnel_exporter_connections_age_seconds', { scope: 'acc', percentile: '100' })).toBe(40);
    clock += 5000;
    expect(value(await metrics.renderOwn(), 'cloudflare_tunnel_exporter_connections_age_seconds', { scope: 'acc', percentile: '100' })).toBe(45);
    // As a Prometheus summary labels them: quantile 0.5, 0.9, 0.99 and 1 (the oldest); the
    // percentile series stay for this release (CHANGELOG) and say the same.
    const now = await metrics.renderOwn();
    expect(value(now, 'cloudflare_tunnel_exporter_connections_age_seconds', { scope: 'acc', quantile: '0.5' })).toBe(25);
    expect(value(now, 'cloudflare_tunnel_exporter_connections_age_seconds', { scope: 'acc', quantile: '1' })).toBe(45);
    const quantiles = samples(now, 'cloudflare_tunnel_exporter_connections_age_seconds').flatMap((s) => (s.labels.quantile ? [s.labels.quantile] : []));
    expect(quantiles.sort()).toEqual(['0.5', '0.9', '0.99', '1']);
    expect(now).toContain('# TYPE cloudflare_tunnel_exporter_connections_age_seconds summary');
    expect(value(now, 'cloudflare_tunnel_exporter_connections_age_seconds_count', { scope: 'acc' })).toBe(4);
    expect(value(now, 'cloudflare_tunnel_exporter_connections_age_seconds_sum', { scope: 'acc' })).toBe(15 + 25 + 35 + 45);
  });
});
