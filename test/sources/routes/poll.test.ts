// Routes and hostname routes through the real pollers and the simulator; a credential without the
// routes permission turns only that source off, says so once, and sends nothing more for an hour.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { createExporterMetrics } from '../../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../../src/snapshot/store.js';
import { createGatewayPoller } from '../../../src/sources/gateway/poll.js';
import { createPollReporter } from '../../../src/sources/poll.js';
import { normalizeHostnameRoutes, normalizeRoutes } from '../../../src/sources/routes/normalize.js';
import { createRoutesPollers } from '../../../src/sources/routes/poll.js';
import { samples, value } from '../../helpers/exposition.js';
import { cloudflareClient, simulator } from '../../helpers/simulator.js';

async function setup(fleet: NonNullable<Parameters<typeof simulator>[0]>['fleet'] = {}) {
  let clock = Date.parse('2026-12-01T12:00:00Z');
  const now = () => clock;
  const sim = await simulator({ fleet: { accounts: 2, ...fleet } });
  const store = createSnapshotStore();
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger({
    level: 'debug',
    format: 'json',
    destination: { write: (line: string) => lines.push(JSON.parse(line)) } as unknown as NodeJS.WritableStream,
  });
  const metrics = createExporterMetrics({
    snapshot: store.snapshot,
    staleDataMaxAgeMs: 600_000,
    intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60, routesSeconds: 300 },
    now,
  });
  const reporter = createPollReporter(log, now);
  const client = cloudflareClient(sim, { now });
  const polls = sim.accountIds.map((accountId) => createRoutesPollers({ client, accountId, store, reporter, now, log }));
  const signal = new AbortController().signal;
  const pollAll = async () => {
    for (const poll of polls) await poll(signal);
    return metrics.renderOwn();
  };
  return { sim, store, client, reporter, lines, pollAll, advance: (ms: number) => (clock += ms) };
}

describe('routes', () => {
  it('shows every private route with its virtual network by name and every hostname route; deleted routes are left out', async () => {
    const { sim, pollAll } = await setup();
    const text = await pollAll();
    for (const account of sim.fleet.accounts) {
      const live = account.routes.filter((r) => r.deleted_at === null);
      expect(account.routes.length).toBeGreaterThan(live.length);
      const shown = samples(text, 'cloudflare_tunnel_route_info', { account_id: account.id });
      expect(shown.map((s) => [s.labels.network, s.labels.virtual_network, s.labels.tunnel_id]).sort()).toEqual(
        live.map((r) => [r.network, r.virtual_network_name, r.tunnel_id]).sort(),
      );
      expect(new Set(shown.map((s) => s.labels.virtual_network))).toEqual(new Set(['default', 'staging']));
      expect(
        samples(text, 'cloudflare_tunnel_hostname_route_info', { account_id: account.id })
          .map((s) => s.labels.hostname)
          .sort(),
      ).toEqual(account.hostnameRoutes.map((r) => r.hostname).sort());
    }
    expect(sim.requests.filter((r) => r.endpoint === 'routes.list').every((r) => r.query.is_deleted === 'false')).toBe(true);
  });

  it('a credential without the routes permission turns only routes off in that account: one warning naming the permission, a skip metric, no request for an hour', async () => {
    const { sim, client, store, reporter, lines, pollAll, advance } = await setup({ routesForbiddenIn: 1 });
    const [open, denied] = sim.accountIds as [string, string];
    const gateway = createGatewayPoller({ client, accountId: denied, store, reporter });
    let text = await pollAll();
    await gateway(new AbortController().signal);
    const askedDenied = () =>
      sim.requests.filter((r) => (r.endpoint === 'routes.list' || r.endpoint === 'hostname_routes.list') && r.path.includes(denied)).length;
    expect(askedDenied()).toBe(2);
    text = await pollAll();
    for (let i = 0; i < 5; i++) {
      advance(300_000 / 5);
      text = await pollAll();
    }
    // Ten polls, two requests: no retries every poll.
    expect(askedDenied()).toBe(2);
    const warnings = lines.filter((l) => l.level === 'warn' || (l as { level: unknown }).level === 40);
    expect(warnings.filter((l) => l.msg.includes('Cloudflare One Networks Read'))).toHaveLength(2);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_skipped', { collector: 'routes', scope: denied })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_skipped', { collector: 'hostname_routes', scope: denied })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_skipped', { collector: 'routes', scope: open })).toBe(0);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'routes', scope: open })).toBe(1);
    expect(samples(text, 'cloudflare_tunnel_route_info', { account_id: open }).length).toBeGreaterThan(0);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'gateway_proxy_endpoints', scope: denied })).toBe(1);
    // An hour on, it asks again (a token can be given the permission).
    advance(3_600_000);
    await pollAll();
    expect(askedDenied()).toBe(4);
  });

  it('leaves out routes to tunnels the exporter does not list (IPsec, GRE): they would read as routes to a deleted tunnel', () => {
    const base = { tunnel_id: 't1', deleted_at: null, comment: null };
    const routes = normalizeRoutes('acc', [
      { ...base, id: 'a', network: '10.0.0.0/8', tun_type: 'cfd_tunnel', virtual_network_name: 'default' },
      { ...base, id: 'b', network: '10.1.0.0/16', tun_type: 'ip_sec' },
      { ...base, id: 'c', network: '10.2.0.0/16' },
    ]);
    expect(routes.map((r) => [r.id, r.virtualNetwork])).toEqual([
      ['a', 'default'],
      ['c', 'default'],
    ]);
    expect(normalizeHostnameRoutes('acc', [{ ...base, id: 'h', hostname: 'x.internal', tun_type: 'gre' }])).toEqual([]);
  });
  it('warns again when a permission that was granted is taken away later', async () => {
    const { sim, lines, pollAll, advance } = await setup({ routesForbiddenIn: 1 });
    const account = sim.fleet.accounts[1];
    if (!account) throw new Error('no second account');
    const warnings = () => lines.filter((l) => (l.level === 'warn' || (l as { level: unknown }).level === 40) && l.msg.includes('skipped for')).length;
    await pollAll();
    expect(warnings()).toBe(2);
    // Granted: an hour on, the lists are read again.
    account.forbidden = [];
    advance(3_600_000);
    await pollAll();
    // Taken away again: news, so warned about again.
    account.forbidden = ['routes', 'hostname_routes'];
    await pollAll();
    expect(warnings()).toBe(4);
  });
});
