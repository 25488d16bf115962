// Tunnel configurations through the real pollers, the reader and the simulator: read once when a
// tunnel is listed, again only when a connector reports a newer version (counted in requests) or
// on the sweep; drift appears while one connector lags and clears when it catches up.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createExporterMetrics } from '../../../src/metrics/exporter-metrics.js';
import { changeConfiguration } from '../../../src/simulator/fleet.js';
import { createSnapshotStore } from '../../../src/snapshot/store.js';
import { ConfigurationReader } from '../../../src/sources/configurations/reader.js';
import { createPollReporter } from '../../../src/sources/poll.js';
import { createTunnelsPoller } from '../../../src/sources/tunnels/poll.js';
import { createConnectionsRefresher } from '../../../src/sources/tunnels/refresher.js';
import { samples, value } from '../../helpers/exposition.js';
import { cloudflareClient, simulator } from '../../helpers/simulator.js';

async function setup(fleet: NonNullable<Parameters<typeof simulator>[0]>['fleet'] = {}, faults: NonNullable<Parameters<typeof simulator>[0]>['faults'] = []) {
  const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8, ...fleet }, faults });
  const account = sim.fleet.accounts[0];
  if (!account) throw new Error('no account');
  const store = createSnapshotStore();
  const client = cloudflareClient(sim);
  const intervals = { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60, configurationsSeconds: 3600 };
  const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals });
  const reporter = createPollReporter(silentLogger());
  // Every tunnel's connections are due at every round, so a connector's new version is seen at the next.
  const refresher = createConnectionsRefresher({ client, store, intervalMs: 1, pace: () => ({ perSecond: 100, burst: 1000 }) });
  const reader = new ConfigurationReader({
    client,
    store,
    reporter,
    pace: () => ({ perSecond: 100, burst: 1000 }),
    staleDataMaxAgeMs: 600_000,
    log: silentLogger(),
  });
  reader.start();
  const poll = createTunnelsPoller({ client, accountId: account.id, store, reporter, refresher });
  const signal = new AbortController().signal;
  /** One tunnels poll, every connections read it makes due, and the configuration reads those make due. */
  const round = async () => {
    await poll(signal);
    await refresher.drain();
    await reader.settled();
    return metrics.renderOwn();
  };
  const reads = () => sim.requests.filter((r) => r.endpoint === 'configurations.get').length;
  return { sim, account, reader, round, reads, poll, refresher, signal };
}

describe('tunnel configurations', () => {
  it("reads each remotely managed tunnel's configuration once and shows its public hostnames; locally managed ones are not read", async () => {
    const { account, round, reads } = await setup();
    const text = await round();
    const remote = account.tunnels.filter((t) => t.deleted_at === null && (t.config_src === 'cloudflare' || t.tun_type === 'warp_connector'));
    expect(remote.length).toBeGreaterThan(0);
    expect(reads()).toBe(remote.length);
    for (const t of remote.filter((x) => x.configuration)) {
      const hostnames = (t.configuration?.ingress ?? []).flatMap((r) => (r.hostname ? [r.hostname] : []));
      expect(samples(text, 'cloudflare_tunnel_ingress_info', { tunnel_id: t.id }).map((s) => s.labels.hostname)).toEqual(hostnames);
      expect(value(text, 'cloudflare_tunnel_config_version', { tunnel_id: t.id })).toBe(t.configuration?.version);
    }
    // The origin service never reaches Prometheus.
    expect(text).not.toContain('localhost:800');
    for (const t of account.tunnels.filter((x) => x.config_src === 'local'))
      expect(samples(text, 'cloudflare_tunnel_config_version', { tunnel_id: t.id })).toEqual([]);
    // Nothing new: a second round reads no configuration.
    await round();
    expect(reads()).toBe(remote.length);
  });

  it('reads a configuration once even when the snapshot changes while it is being read (a slow API)', async () => {
    const { account, reader, poll, refresher, signal, reads } = await setup({}, [{ endpoint: 'configurations.get', latencyMs: 40 }]);
    await poll(signal);
    // Connections rounds land while the configuration reads are still out.
    await refresher.drain();
    await poll(signal);
    await refresher.drain();
    await reader.settled();
    const remote = account.tunnels.filter((t) => t.deleted_at === null && (t.config_src === 'cloudflare' || t.tun_type === 'warp_connector'));
    expect(reads()).toBe(remote.length);
  });

  it('reads a configuration again only when a connector reports a newer version, and shows the lagging connector as drift until it catches up', async () => {
    const { account, round, reads } = await setup();
    await round();
    const before = reads();
    const tunnel = account.tunnels.find((t) => t.configuration && t.status === 'healthy' && t.connectors.filter((c) => c.conns.length > 0).length >= 2);
    if (!tunnel?.configuration) throw new Error('no remotely managed tunnel with two connectors');
    const slow = tunnel.connectors.filter((c) => c.conns.length > 0).at(-1);
    if (!slow) throw new Error('no connector');
    // Nothing changed: more rounds read nothing.
    await round();
    expect(reads()).toBe(before);
    const version = changeConfiguration(tunnel, Date.now(), slow);
    let text = await round();
    // The connectors that took the new version made one read of that tunnel, no more.
    expect(reads()).toBe(before + 1);
    expect(value(text, 'cloudflare_tunnel_config_version', { tunnel_id: tunnel.id })).toBe(version);
    expect(samples(text, 'cloudflare_tunnel_ingress_info', { tunnel_id: tunnel.id }).map((s) => s.labels.hostname)).toContain(
      `${tunnel.name}-v${version}.example.com`,
    );
    expect(value(text, 'cloudflare_tunnel_connector_config_drift', { connector_id: slow.id })).toBe(1);
    for (const c of tunnel.connectors.filter((x) => x !== slow && x.conns.length > 0)) {
      expect(value(text, 'cloudflare_tunnel_connector_config_drift', { connector_id: c.id })).toBe(0);
    }
    text = await round();
    expect(reads()).toBe(before + 1);
    slow.config_version = version;
    text = await round();
    expect(value(text, 'cloudflare_tunnel_connector_config_drift', { connector_id: slow.id })).toBe(0);
    expect(reads()).toBe(before + 1);
  });

  it('reads a changed configuration before the backlog of a sweep (at its share of the budget a big fleet waits hours)', async () => {
    const { account, reader, round, reads, sim, poll, refresher, signal } = await setup({}, [{ endpoint: 'configurations.get', latencyMs: 30 }]);
    await round();
    const before = reads();
    const sweepOrder = account.tunnels.filter((t) => t.deleted_at === null && (t.configuration || t.warpConfiguration)).map((t) => t.id);
    const tunnel = account.tunnels.filter((t) => t.configuration && t.status === 'healthy' && t.connectors.some((c) => c.conns.length > 0)).at(-1);
    if (!tunnel) throw new Error('no remotely managed tunnel with connections');
    expect(sweepOrder.indexOf(tunnel.id)).toBeGreaterThanOrEqual(3);
    // A sweep queues every configuration; the configuration changes while they wait, and a connections read sees it.
    reader.sweep(account.id);
    changeConfiguration(tunnel, Date.now());
    await poll(signal);
    await refresher.drain();
    await reader.settled();
    const after = sim.requests.filter((r) => r.endpoint === 'configurations.get').slice(before);
    // Each configuration once (the changed one's read counts for the sweep too), the changed one among the first.
    expect(after).toHaveLength(sweepOrder.length);
    expect(after.findIndex((r) => r.path.includes(tunnel.id))).toBeLessThan(sweepOrder.indexOf(tunnel.id));
  });

  it('reads every configuration again on the sweep (CONFIGURATIONS_SCHEDULE)', async () => {
    const { account, reader, round, reads } = await setup();
    await round();
    const first = reads();
    reader.sweep(account.id);
    await reader.settled();
    expect(reads()).toBe(2 * first);
  });

  it("shows a WARP Connector's ha_mode as a state set", async () => {
    const { account, round } = await setup({ warpConnectorsPerAccount: 2 });
    const text = await round();
    for (const t of account.tunnels.filter((x) => x.tun_type === 'warp_connector')) {
      expect(value(text, 'cloudflare_warp_connector_ha_mode', { tunnel_id: t.id, ha_mode: t.warpConfiguration?.ha_mode ?? '' })).toBe(1);
      expect(samples(text, 'cloudflare_warp_connector_ha_mode', { tunnel_id: t.id }).filter((s) => s.value === 1)).toHaveLength(1);
    }
  });
  it('a credential without the permission turns configurations off for the account at the first refusal, and reads nothing more for an hour', async () => {
    const { sim, account, round, reads } = await setup({}, [{ endpoint: 'configurations.get', status: 403 }]);
    let text = await round();
    expect(reads()).toBe(1);
    text = await round();
    text = await round();
    // Three tunnel polls and their connections reads went on; no configuration was asked for again.
    expect(reads()).toBe(1);
    expect(sim.requests.filter((r) => r.endpoint === 'tunnels.list')).toHaveLength(3);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_skipped', { collector: 'tunnel_configurations', scope: account.id })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: account.id })).toBe(1);
    expect(samples(text, 'cloudflare_tunnel_status').length).toBeGreaterThan(0);
  });
});
