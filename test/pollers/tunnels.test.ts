import { describe, expect, it } from 'vitest';
import { createExporterMetrics } from '../../src/metrics/registry.js';
import { createPollReporter } from '../../src/pollers/poll.js';
import { createTunnelsPoller, RECENTLY_DOWN_MS } from '../../src/pollers/tunnels.js';
import { silentLogger } from '../../src/log.js';
import { createSnapshotStore } from '../../src/state/store.js';
import { samples, value } from '../helpers/exposition.js';
import { cloudflareClient, simulator } from '../helpers/simulator.js';

const intervals = { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 };

async function setup(options: Parameters<typeof simulator>[0] = {}) {
  const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8, ...options.fleet }, ...options });
  const store = createSnapshotStore();
  const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals });
  const account = sim.fleet.accounts[0];
  if (!account) throw new Error('no account');
  const poll = createTunnelsPoller({ client: cloudflareClient(sim), accountId: account.id, store, reporter: createPollReporter(silentLogger()) });
  const scrape = () => metrics.renderOwn();
  return { sim, store, account, poll: () => poll(new AbortController().signal), scrape };
}

describe('tunnels poller', () => {
  it('exports every tunnel with its status, and per-colo active and pending connections', async () => {
    const { sim, account, poll, scrape } = await setup();
    await poll();
    const text = await scrape();
    for (const t of account.tunnels.filter((x) => x.deleted_at === null)) {
      expect(value(text, 'cloudflare_tunnel_status', { tunnel_id: t.id, status: t.status }), t.name).toBe(1);
    }
    expect(samples(text, 'cloudflare_tunnel_info').some((s) => s.labels.tunnel_name?.startsWith('deleted-'))).toBe(false);

    const degraded = account.tunnels.find((t) => t.status === 'degraded');
    const conns = degraded?.connectors.flatMap((c) => c.conns) ?? [];
    for (const colo of new Set(conns.map((c) => c.colo_name))) {
      const here = conns.filter((c) => c.colo_name === colo);
      expect(value(text, 'cloudflare_tunnel_connections', { tunnel_id: degraded?.id as string, colo })).toBe(here.filter((c) => !c.is_pending_reconnect).length);
      expect(value(text, 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: degraded?.id as string, colo })).toBe(here.filter((c) => c.is_pending_reconnect).length);
    }
    expect(value(text, 'cloudflare_tunnel_connectors', { tunnel_id: degraded?.id as string })).toBe(degraded?.connectors.length);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'connections', scope: account.id })).toBe(1);
    expect(sim.requests.filter((r) => r.endpoint === 'connections.list')).toHaveLength(
      account.tunnels.filter(
        (t) =>
          t.deleted_at === null &&
          t.status !== 'inactive' &&
          !(t.status === 'down' && Date.now() - Date.parse(t.conns_inactive_at ?? '') > RECENTLY_DOWN_MS),
      ).length,
    );
  });

  it('counts a connection without is_pending_reconnect as active', async () => {
    const { account, poll, scrape } = await setup();
    const healthy = account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    for (const c of healthy?.connectors ?? []) for (const conn of c.conns) delete (conn as { is_pending_reconnect?: boolean }).is_pending_reconnect;
    await poll();
    const text = await scrape();
    const total = samples(text, 'cloudflare_tunnel_connections', { tunnel_id: healthy?.id as string }).reduce((n, s) => n + s.value, 0);
    expect(total).toBe(healthy?.connectors.flatMap((c) => c.conns).length);
    expect(samples(text, 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: healthy?.id as string }).every((s) => s.value === 0)).toBe(true);
  });

  it('does not ask for connections of inactive tunnels or tunnels down for long', async () => {
    const { sim, account, poll, scrape } = await setup();
    const down = account.tunnels.find((t) => t.status === 'down');
    if (!down) throw new Error('fleet has no down tunnel');
    down.conns_inactive_at = new Date(Date.now() - RECENTLY_DOWN_MS - 60_000).toISOString();
    const inactive = account.tunnels.find((t) => t.status === 'inactive');
    await poll();
    const asked = sim.requests.filter((r) => r.endpoint === 'connections.list').map((r) => r.path);
    expect(asked.some((p) => p.includes(down.id))).toBe(false);
    expect(asked.some((p) => p.includes(inactive?.id as string))).toBe(false);
    const text = await scrape();
    expect(value(text, 'cloudflare_tunnel_connectors', { tunnel_id: inactive?.id as string })).toBe(0);
  });

  it("keeps one tunnel's last good connections when its call fails, and shows the failure", async () => {
    const { sim, account, poll, scrape } = await setup();
    await poll();
    const [broken, other] = account.tunnels.filter((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    const before = await scrape();
    const brokenConnectors = value(before, 'cloudflare_tunnel_connectors', { tunnel_id: broken?.id as string });

    sim.setFaults([{ endpoint: 'connections.list', pathIncludes: broken?.id as string, status: 500 }]);
    // The world changes for both tunnels; only the healthy call can see it.
    for (const t of [broken, other]) t?.connectors.pop();
    await poll();
    const after = await scrape();
    expect(value(after, 'cloudflare_tunnel_connectors', { tunnel_id: broken?.id as string })).toBe(brokenConnectors);
    expect(value(after, 'cloudflare_tunnel_connectors', { tunnel_id: other?.id as string })).toBe(other?.connectors.length);
    expect(value(after, 'cloudflare_tunnel_exporter_collector_success', { collector: 'connections', scope: account.id })).toBe(0);
    expect(value(after, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: account.id })).toBe(1);
  });

  it('keeps the previous tunnels when the list fails and counts status transitions', async () => {
    const { sim, account, poll, scrape } = await setup();
    await poll();
    const flipped = account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    if (!flipped) throw new Error('no healthy tunnel');
    flipped.status = 'degraded';
    await poll();
    flipped.status = 'healthy';
    await poll();
    sim.setFaults([{ endpoint: 'tunnels.list', status: 502 }]);
    await poll();
    const text = await scrape();
    expect(value(text, 'cloudflare_tunnel_status_transitions_total', { tunnel_id: flipped.id })).toBe(2);
    expect(value(text, 'cloudflare_tunnel_status', { tunnel_id: flipped.id, status: 'healthy' })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: account.id })).toBe(0);
    const other = account.tunnels.find((t) => t.id !== flipped.id && t.deleted_at === null);
    expect(value(text, 'cloudflare_tunnel_status_transitions_total', { tunnel_id: other?.id as string })).toBe(0);
  });
});

describe('tunnels poller on an account without WARP', () => {
  it('treats a 404 on the warp_connector list as no WARP connectors, not as a failed poll', async () => {
    const { sim, account, poll, scrape } = await setup();
    sim.setFaults([{ endpoint: 'tunnels.list', pathIncludes: '/warp_connector', status: 404 }]);
    await poll();
    const text = await scrape();
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: account.id })).toBe(1);
    expect(samples(text, 'cloudflare_tunnel_info', { tunnel_type: 'warp_connector' })).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_info', { tunnel_type: 'cfd_tunnel' }).length).toBeGreaterThan(0);
  });

  it('still fails the poll on a 404 of the cfd_tunnel list (a wrong account id)', async () => {
    const { sim, account, poll, scrape } = await setup();
    sim.setFaults([{ endpoint: 'tunnels.list', pathIncludes: '/cfd_tunnel', status: 404 }]);
    await poll();
    expect(value(await scrape(), 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: account.id })).toBe(0);
  });
});
