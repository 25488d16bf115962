import { describe, expect, it } from 'vitest';
import { RECENTLY_DOWN_MS } from '../../../src/domain/types.js';
import { silentLogger } from '../../../src/log.js';
import { createExporterMetrics } from '../../../src/metrics/exporter-metrics.js';
import { createRandom, newConnector, type SimConnection, type SimConnector, setTunnelStatus } from '../../../src/simulator/fleet.js';
import { createSnapshotStore } from '../../../src/snapshot/store.js';
import { ANSWER_LIMITS } from '../../../src/sources/answer.js';
import { createPollReporter } from '../../../src/sources/poll.js';
import { createTunnelsPoller } from '../../../src/sources/tunnels/poll.js';
import { createConnectionsRefresher } from '../../../src/sources/tunnels/refresher.js';
import { samples, value } from '../../helpers/exposition.js';
import { cloudflareClient, simulator } from '../../helpers/simulator.js';

const intervals = { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 };

async function setup(options: Parameters<typeof simulator>[0] & { haConnections?: number } = {}) {
  const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8, ...options.fleet }, ...options });
  const store = createSnapshotStore();
  const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals });
  const account = sim.fleet.accounts[0];
  if (!account) throw new Error('no account');
  const client = cloudflareClient(sim);
  // Interval 0: every list poll makes every tunnel due again, so each poll re-reads them all.
  const refresher = createConnectionsRefresher({
    client,
    store,
    intervalMs: 0,
    pace: () => ({ perSecond: 1, burst: 1000 }),
    ...(options.haConnections !== undefined ? { haConnections: options.haConnections } : {}),
    onCut: metrics.answerCut,
  });
  const poll = createTunnelsPoller({
    client,
    accountId: account.id,
    store,
    reporter: createPollReporter(silentLogger(), undefined, metrics.answerCut),
    refresher,
  });
  const scrape = () => metrics.renderOwn();
  const pollAndRead = async () => {
    await poll(new AbortController().signal);
    await refresher.drain();
  };
  return { sim, store, account, refresher, poll: pollAndRead, scrape };
}

describe('tunnels poller', () => {
  it('exports every tunnel with its status, and per-colo connections as the API lists them', async () => {
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
      expect(value(text, 'cloudflare_tunnel_connections', { tunnel_id: degraded?.id as string, colo })).toBe(conns.filter((c) => c.colo_name === colo).length);
      // A first poll has nothing to compare with: nothing is known to be gone yet.
      expect(value(text, 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: degraded?.id as string, colo })).toBe(0);
    }
    expect(value(text, 'cloudflare_tunnel_connectors', { tunnel_id: degraded?.id as string })).toBe(degraded?.connectors.length);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'connections', scope: account.id })).toBe(1);
    expect(sim.requests.filter((r) => r.endpoint === 'connections.list')).toHaveLength(
      account.tunnels.filter(
        (t) =>
          t.deleted_at === null && t.status !== 'inactive' && !(t.status === 'down' && Date.now() - Date.parse(t.conns_inactive_at ?? '') > RECENTLY_DOWN_MS),
      ).length,
    );
  });

  it('still counts a connection the API flags is_pending_reconnect: true as pending, not active', async () => {
    const { account, poll, scrape } = await setup();
    const healthy = account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    const flagged = healthy?.connectors[0]?.conns[0] as { is_pending_reconnect?: boolean; colo_name: string };
    flagged.is_pending_reconnect = true;
    await poll();
    const text = await scrape();
    const total = samples(text, 'cloudflare_tunnel_connections', { tunnel_id: healthy?.id as string }).reduce((n, s) => n + s.value, 0);
    expect(total).toBe((healthy?.connectors.flatMap((c) => c.conns).length ?? 0) - 1);
    expect(value(text, 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: healthy?.id as string, colo: flagged.colo_name })).toBe(1);
  });

  it('skips a connector or a connection without an id, and a WARP connector without ha_status gets no ha_status series', async () => {
    const { account, poll, scrape } = await setup();
    const [one, two] = account.tunnels.filter((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    const warp = account.tunnels.find((t) => t.tun_type === 'warp_connector');
    if (!one?.connectors[0] || !two?.connectors[0]?.conns[0]) throw new Error('fleet lacks connectors');
    const held = two.connectors[0].conns.length;
    delete (one.connectors[0] as { id?: string }).id;
    delete (two.connectors[0].conns[0] as { id?: string }).id;
    delete warp?.connectors[0]?.ha_status;
    await poll();
    const text = await scrape();
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'connections', scope: account.id })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_connectors', { tunnel_id: one?.id as string })).toBe((one?.connectors.length ?? 0) - 1);
    expect(value(text, 'cloudflare_tunnel_connector_active_connections', { connector_id: two?.connectors[0]?.id as string })).toBe(held - 1);
    expect(samples(text, 'cloudflare_tunnel_connector_ha_status', { connector_id: warp?.connectors[0]?.id as string })).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_connector_ha_status', { connector_id: warp?.connectors[1]?.id as string })).toHaveLength(3);
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

describe('the tunnel list', () => {
  it('is one request for both types, and a 404 (a wrong account id) fails the poll', async () => {
    const { sim, account, poll, scrape } = await setup();
    await poll();
    expect(sim.requests.filter((r) => r.endpoint === 'tunnels.list').map((r) => r.path)).toEqual([`/client/v4/accounts/${account.id}/tunnels`]);
    expect(samples(await scrape(), 'cloudflare_tunnel_info', { tunnel_type: 'warp_connector' }).length).toBeGreaterThan(0);
    sim.setFaults([{ endpoint: 'tunnels.list', status: 404 }]);
    await poll();
    expect(value(await scrape(), 'cloudflare_tunnel_exporter_collector_success', { collector: 'tunnels', scope: account.id })).toBe(0);
  });
});

describe('repeated ids in a connections answer', () => {
  it('gives a connector id the API repeats one set of series, not two', async () => {
    const { account, poll, scrape } = await setup();
    const tunnel = account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    const connector = tunnel?.connectors[0];
    if (!tunnel || !connector) throw new Error('no connector');
    tunnel.connectors.push(structuredClone(connector));
    await poll();
    const text = await scrape();
    expect(samples(text, 'cloudflare_tunnel_connector_info', { connector_id: connector.id })).toHaveLength(1);
    expect(value(text, 'cloudflare_tunnel_connectors', { tunnel_id: tunnel.id })).toBe(tunnel.connectors.length - 1);
  });
});

describe('derived pending reconnects over successive polls', () => {
  /** A healthy cfd tunnel with one connector holding 2 DFW and 2 AMS connections. */
  async function oneConnector(options: { haConnections?: number } = {}) {
    const h = await setup(options);
    const tunnel = h.account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    if (!tunnel) throw new Error('no healthy tunnel');
    tunnel.connectors = tunnel.connectors.slice(0, 1);
    const connector = tunnel.connectors[0] as SimConnector;
    connector.conns.forEach((c, i) => {
      c.colo_name = i < 2 ? 'DFW' : 'AMS';
    });
    const at = (text: string, name: string, where: Record<string, string> = {}) => value(text, name, { tunnel_id: tunnel.id, ...where });
    return { ...h, tunnel, connector, at };
  }

  it('a connector down from 4 to 3 shows 1 pending in the colo it was in and 1 missing; back to 4 with a new id, both 0 and one reconnect there', async () => {
    const { connector, poll, scrape, at } = await oneConnector();
    await poll();
    let text = await scrape();
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connection_reconnects_total', { colo: 'DFW' })).toBe(0);

    connector.conns.splice(0, 1); // one DFW connection drops
    await poll();
    text = await scrape();
    expect(at(text, 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'DFW' })).toBe(1);
    expect(at(text, 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'AMS' })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connections', { colo: 'DFW' })).toBe(1);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(1);

    // It stays pending while the connector is not complete again.
    await poll();
    expect(at(await scrape(), 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'DFW' })).toBe(1);

    // The replacement comes up in another colo: the reconnect counts where the gap was.
    connector.conns.push({ ...(connector.conns[2] as SimConnection), id: 'new-connection-id', colo_name: 'AMS' });
    await poll();
    text = await scrape();
    expect(at(text, 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'DFW' })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connection_reconnects_total', { colo: 'DFW' })).toBe(1);
    expect(at(text, 'cloudflare_tunnel_connection_reconnects_total', { colo: 'AMS' })).toBe(0);
  });

  it('a connector that drops to 0 counts all of them pending; one that disappears counts nothing', async () => {
    const { tunnel, connector, poll, scrape, at } = await oneConnector();
    await poll();
    connector.conns = [];
    await poll();
    let text = await scrape();
    expect(at(text, 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'DFW' })).toBe(2);
    expect(at(text, 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'AMS' })).toBe(2);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(4);

    tunnel.connectors = [];
    await poll();
    text = await scrape();
    // No connector, no colo: the tunnel has no per-colo series left at all.
    expect(samples(text, 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: tunnel.id })).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_connector_missing_connections', { tunnel_id: tunnel.id })).toEqual([]);
  });

  /** A restarted cloudflared: a new connector id, started now, holding `n` connections. */
  const restarted = (n: number, colo = 'FRA') => {
    const c = newConnector(createRandom(21), Date.now());
    c.run_at = new Date().toISOString();
    c.conns = c.conns.slice(0, n).map((x) => ({ ...x, colo_name: colo }));
    return c;
  };
  const sumOf = (text: string, name: string, tunnelId: string) => samples(text, name, { tunnel_id: tunnelId }).reduce((n, s) => n + s.value, 0);

  it('a restart is a new connector: the old one empty, then gone, gives 0 pending, 0 missing and 1 replacement', async () => {
    const { tunnel, connector, poll, scrape, at } = await oneConnector();
    await poll();
    // cloudflared restarts (an auto-update): the old connector stays listed, empty, beside the new one.
    connector.conns = [];
    const next = restarted(4);
    tunnel.connectors.push(next);
    await poll();
    let text = await scrape();
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: next.id })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_replacements_total')).toBe(1);
    expect(at(text, 'cloudflare_tunnel_connector_active_connections', { connector_id: connector.id })).toBe(0);
    // Still empty a read later: still nothing pending, and no second replacement.
    await poll();
    text = await scrape();
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_replacements_total')).toBe(1);
    // The old one ages out of the list.
    tunnel.connectors = [next];
    await poll();
    text = await scrape();
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
    expect(sumOf(text, 'cloudflare_tunnel_connection_reconnects_total', tunnel.id)).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_replacements_total')).toBe(1);
  });

  it('a restart whose old connector is gone by the next read counts 1 replacement and nothing pending', async () => {
    const { tunnel, poll, scrape, at } = await oneConnector();
    await poll();
    tunnel.connectors = [restarted(4)];
    await poll();
    const text = await scrape();
    expect(at(text, 'cloudflare_tunnel_connector_replacements_total')).toBe(1);
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
  });

  it('a connector that empties before its successor starts shows pending until the successor takes over', async () => {
    const { tunnel, connector, poll, scrape, at } = await oneConnector();
    await poll();
    connector.conns = [];
    await poll();
    expect(sumOf(await scrape(), 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(4);
    tunnel.connectors.push(restarted(4));
    await poll();
    const text = await scrape();
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_replacements_total')).toBe(1);
  });

  it('an overlap (old and new connection of one slot listed together) leaves nothing pending and counts 1 reconnect', async () => {
    const { tunnel, connector, poll, scrape, at } = await oneConnector();
    await poll();
    const old = connector.conns[0] as SimConnection;
    connector.conns.push({ ...old, id: 'reconnected-slot', colo_name: 'LHR' });
    await poll();
    let text = await scrape();
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    connector.conns = connector.conns.filter((c) => c !== old);
    await poll();
    text = await scrape();
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    expect(at(text, 'cloudflare_tunnel_connection_reconnects_total', { colo: 'DFW' })).toBe(1);
    expect(sumOf(text, 'cloudflare_tunnel_connection_reconnects_total', tunnel.id)).toBe(1);
    // And later drops still show: the count was not raised to 5.
    connector.conns.splice(0, 1);
    await poll();
    expect(sumOf(await scrape(), 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(1);
  });

  it('a connector holding 3 of 4 when the exporter starts shows 1 missing from its first read, and no pending (its colo is unknown)', async () => {
    const { tunnel, connector, poll, scrape, at } = await oneConnector();
    connector.conns.splice(3, 1);
    await poll();
    const text = await scrape();
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(1);
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(0);
  });

  it('CLOUDFLARED_HA_CONNECTIONS=2: a connector running --ha-connections 2 is complete; 1 of 2 is 1 missing', async () => {
    const { tunnel, connector, poll, scrape, at } = await oneConnector({ haConnections: 2 });
    connector.conns.splice(2, 2);
    await poll();
    expect(at(await scrape(), 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    connector.conns.splice(0, 1);
    await poll();
    const text = await scrape();
    expect(at(text, 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(1);
    expect(at(text, 'cloudflare_tunnel_pending_reconnect_connections', { colo: 'DFW' })).toBe(1);
    expect(sumOf(text, 'cloudflare_tunnel_pending_reconnect_connections', tunnel.id)).toBe(1);
  });

  it('CLOUDFLARED_HA_CONNECTIONS=0 learns: short from the start is complete; a drop is missing until 10 reads pass', async () => {
    const { connector, poll, scrape, at } = await oneConnector({ haConnections: 0 });
    connector.conns.splice(3, 1);
    await poll();
    expect(at(await scrape(), 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
    connector.conns.splice(0, 1);
    for (let i = 0; i < 9; i++) await poll();
    expect(at(await scrape(), 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(1);
    await poll();
    // Ten reads at 2: the learned count came down (no lifetime ratchet).
    expect(at(await scrape(), 'cloudflare_tunnel_connector_missing_connections', { connector_id: connector.id })).toBe(0);
  });

  it('a reconnect that lands in another colo moves the colo series at once', async () => {
    const { connector, poll, scrape, at } = await oneConnector();
    await poll();
    const [dropped] = connector.conns.splice(0, 1);
    connector.conns.push({ ...(dropped as SimConnection), id: 'moved-to-lhr', colo_name: 'LHR' });
    await poll();
    const text = await scrape();
    expect(at(text, 'cloudflare_tunnel_connections', { colo: 'DFW' })).toBe(1);
    expect(at(text, 'cloudflare_tunnel_connections', { colo: 'LHR' })).toBe(1);
    expect(at(text, 'cloudflare_tunnel_connection_reconnects_total', { colo: 'DFW' })).toBe(1);
  });

  it("the simulator's own degrade and recover show pending, then reconnects", async () => {
    const { sim, tunnel, poll, scrape, at } = await oneConnector();
    await poll();
    setTunnelStatus(tunnel, 'degraded', Date.now(), createRandom(3));
    await poll();
    const pending = samples(await scrape(), 'cloudflare_tunnel_pending_reconnect_connections', { tunnel_id: tunnel.id }).reduce((n, s) => n + s.value, 0);
    expect(pending).toBe(2);
    setTunnelStatus(tunnel, 'healthy', Date.now(), createRandom(4));
    await poll();
    const text = await scrape();
    expect(samples(text, 'cloudflare_tunnel_connection_reconnects_total', { tunnel_id: tunnel.id }).reduce((n, s) => n + s.value, 0)).toBe(2);
    expect(at(text, 'cloudflare_tunnel_status', { status: 'healthy' })).toBe(1);
    expect(sim.requests.some((r) => r.query.is_pending_reconnect !== undefined)).toBe(false);
  });
});

describe('an answer too big for one tunnel', () => {
  /** `n` connectors of `conns` connections each, every connection in a colo of its own. */
  const crowd = (n: number, conns: number) =>
    Array.from({ length: n }, (_, i) => {
      const c = newConnector(createRandom(100 + i), Date.now());
      const first = c.conns[0] as SimConnection;
      c.conns = Array.from({ length: conns }, (_, k) => ({ ...first, id: `conn-${i}-${k}`, uuid: `conn-${i}-${k}`, colo_name: `colo${i * conns + k}` }));
      return c;
    });

  it('is cut to the documented limits, counted, and leaves every other tunnel as it was', async () => {
    const { account, poll, scrape } = await setup();
    const [big, other] = account.tunnels.filter((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    if (!big || !other) throw new Error('fleet lacks healthy tunnels');
    big.name = 'n'.repeat(1_000_000);
    big.connectors = [...crowd(1, 40), ...crowd(149, 1)];
    await poll();
    const text = await scrape();
    expect(text.length).toBeLessThan(2_000_000);
    const where = { tunnel_id: big.id };
    expect(samples(text, 'cloudflare_tunnel_connector_info', where)).toHaveLength(ANSWER_LIMITS.connectorsPerTunnel);
    expect(samples(text, 'cloudflare_tunnel_connections', where).length).toBeLessThanOrEqual(ANSWER_LIMITS.colosPerTunnel + 1);
    expect(samples(text, 'cloudflare_tunnel_connections', { ...where, colo: 'other' })[0]?.value).toBeGreaterThan(0);
    expect(Math.max(...samples(text, 'cloudflare_tunnel_connector_active_connections', where).map((x) => x.value))).toBe(ANSWER_LIMITS.connectionsPerConnector);
    expect(samples(text, 'cloudflare_tunnel_info', where)[0]?.labels.tunnel_name).toHaveLength(ANSWER_LIMITS.labelValueLength);
    for (const item of ['connectors', 'connections', 'colos', 'label_values']) {
      expect(value(text, 'cloudflare_tunnel_exporter_answer_cuts_total', { item }), item).toBeGreaterThan(0);
    }
    expect(samples(text, 'cloudflare_tunnel_connector_info', { tunnel_id: other.id })).toHaveLength(other.connectors.length);
  });

  it('past 1 MiB, a connections answer is not read at all: that tunnel fails, the others do not', async () => {
    const { account, poll, scrape } = await setup();
    const [big, other] = account.tunnels.filter((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    if (!big || !other) throw new Error('fleet lacks healthy tunnels');
    big.connectors = crowd(300, 20);
    await poll();
    const text = await scrape();
    expect(samples(text, 'cloudflare_tunnel_connector_info', { tunnel_id: big.id })).toEqual([]);
    expect(samples(text, 'cloudflare_tunnel_connector_info', { tunnel_id: other.id })).toHaveLength(other.connectors.length);
    expect(value(text, 'cloudflare_tunnel_exporter_collector_success', { collector: 'connections', scope: account.id })).toBe(0);
  });
});
