// What `npm run demo` shows in its first three minutes, replayed on a fake clock: the demo's
// simulator (default fleet, a timeline step every 5 s) read by the real pollers every 10 s, as the
// demo's schedules do. Each reconnect signal must appear, and a restarted cloudflared's old
// connector must never be counted as pending or missing.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { ConfigurationReader } from '../../src/sources/configurations/reader.js';
import { createPollReporter } from '../../src/sources/poll.js';
import { createRoutesPollers } from '../../src/sources/routes/poll.js';
import { createTunnelsPoller } from '../../src/sources/tunnels/poll.js';
import { createConnectionsRefresher } from '../../src/sources/tunnels/refresher.js';
import { samples, value } from '../helpers/exposition.js';
import { cloudflareClient, simulator } from '../helpers/simulator.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const sum = (text: string, name: string, where: Record<string, string> = {}) => samples(text, name, where).reduce((n, s) => n + s.value, 0);

describe('the demo, first three minutes', () => {
  it('shows pending reconnects, reconnects, a replacement and a short connector, and never counts a replaced connector', async () => {
    let clock = T0;
    const now = () => clock;
    const events: string[] = [];
    const sim = await simulator({ now, fleet: { maxProxyRecords: 20, now: T0 }, onEvent: (e) => events.push(e) });
    const store = createSnapshotStore();
    const intervals = { tunnelsSeconds: 10, gatewaySeconds: 30, proxyRecordsSeconds: 5 };
    const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals, now });
    const client = cloudflareClient(sim, { now });
    const refresher = createConnectionsRefresher({ client, store, intervalMs: 10_000, pace: () => ({ perSecond: 10, burst: 1000 }), now });
    const polls = sim.accountIds.map((accountId) =>
      createTunnelsPoller({ client, accountId, store, reporter: createPollReporter(silentLogger(), now), refresher }),
    );
    const signal = new AbortController().signal;
    const seen = { pending: 0, reconnects: 0, replacements: 0, short: 0 };
    for (let step = 1; step <= 36; step++) {
      clock = T0 + step * 5000;
      sim.step();
      if (step % 2 !== 0) continue;
      for (const poll of polls) await poll(signal);
      await refresher.drain();
      const text = await metrics.renderOwn();
      seen.pending = Math.max(seen.pending, sum(text, 'cloudflare_tunnel_pending_reconnect_connections'));
      seen.reconnects = Math.max(seen.reconnects, sum(text, 'cloudflare_tunnel_connection_reconnects_total'));
      seen.replacements = Math.max(seen.replacements, sum(text, 'cloudflare_tunnel_connector_replacements_total'));
      seen.short = Math.max(seen.short, samples(text, 'cloudflare_tunnel_connector_missing_connections').filter((s) => s.value > 0).length);
      // Every connector a newer one took over shows 0 missing, and no tunnel's pending exceeds what
      // its connectors miss, so no pending can belong to a replaced connector.
      for (const [, entry] of store.snapshot().connections) {
        for (const [tunnelId, data] of entry.data ?? []) {
          for (const c of data.connectors.filter((x) => x.replaced)) {
            expect(samples(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: c.id }).map((s) => s.value)).toEqual([0]);
          }
          const pending = sum(text, 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: tunnelId });
          expect(pending, `tunnel ${tunnelId} at step ${step}`).toBeLessThanOrEqual(
            sum(text, 'cloudflare_tunnel_connector_missing_connections', { tunnel_id: tunnelId }),
          );
        }
      }
    }
    expect(events.some((e) => e.includes('auto-updated'))).toBe(true);
    expect(seen.pending).toBeGreaterThan(0);
    expect(seen.reconnects).toBeGreaterThan(0);
    expect(seen.replacements).toBeGreaterThan(0);
    expect(seen.short).toBeGreaterThan(0);
  });
  it('shows a hostname-down and a route-unreachable condition, configuration drift, and the account without the routes permission skipped', async () => {
    let clock = T0;
    const now = () => clock;
    // As `npm run demo` makes it (src/cli.ts): the second account's token may not read routes.
    const sim = await simulator({ now, fleet: { maxProxyRecords: 20, now: T0, routesForbiddenIn: 1 } });
    const store = createSnapshotStore();
    const intervals = { tunnelsSeconds: 10, gatewaySeconds: 30, proxyRecordsSeconds: 5, routesSeconds: 15, configurationsSeconds: 300 };
    const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals, now });
    const client = cloudflareClient(sim, { now });
    const reporter = createPollReporter(silentLogger(), now);
    const refresher = createConnectionsRefresher({ client, store, intervalMs: 10_000, pace: () => ({ perSecond: 10, burst: 1000 }), now });
    const reader = new ConfigurationReader({
      client,
      store,
      reporter,
      pace: () => ({ perSecond: 10, burst: 30 }),
      staleDataMaxAgeMs: 600_000,
      log: silentLogger(),
      now,
    });
    reader.start();
    const polls = sim.accountIds.map((accountId) => createTunnelsPoller({ client, accountId, store, reporter, refresher }));
    const routes = sim.accountIds.map((accountId) => createRoutesPollers({ client, accountId, store, reporter, now, log: silentLogger() }));
    const signal = new AbortController().signal;
    const seen = { hostnameDown: 0, routeUnreachable: 0, drift: 0 };
    let text = '';
    for (let step = 1; step <= 36; step++) {
      clock = T0 + step * 5000;
      sim.step();
      if (step % 2 === 0) {
        for (const poll of polls) await poll(signal);
        await refresher.drain();
        await reader.settled();
      }
      if (step % 3 === 1) for (const poll of routes) await poll(signal);
      text = await metrics.renderOwn();
      const down = new Set(
        samples(text, 'cloudflare_tunnel_status', { status: 'down' })
          .filter((x) => x.value === 1)
          .map((x) => x.labels.tunnel_id),
      );
      seen.hostnameDown = Math.max(seen.hostnameDown, samples(text, 'cloudflare_tunnel_ingress_info').filter((x) => down.has(x.labels.tunnel_id)).length);
      seen.routeUnreachable = Math.max(seen.routeUnreachable, samples(text, 'cloudflare_tunnel_route_info').filter((x) => down.has(x.labels.tunnel_id)).length);
      seen.drift = Math.max(seen.drift, sum(text, 'cloudflare_tunnel_connector_config_drift'));
    }
    expect(seen.hostnameDown).toBeGreaterThan(0);
    expect(seen.routeUnreachable).toBeGreaterThan(0);
    expect(seen.drift).toBeGreaterThan(0);
    const [open, denied] = sim.accountIds as [string, string];
    expect(value(text, 'cloudflare_tunnel_exporter_collector_skipped', { collector: 'routes', scope: denied })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'routes', scope: open })).toBe(1);
    await reader.stop();
  });
});
