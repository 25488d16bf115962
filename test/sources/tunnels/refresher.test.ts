import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createRandom, setTunnelStatus } from '../../../src/simulator/fleet.js';
import { createSnapshotStore } from '../../../src/snapshot/store.js';
import { createPollReporter } from '../../../src/sources/poll.js';
import { createTunnelsPoller } from '../../../src/sources/tunnels/poll.js';
import { createConnectionsRefresher } from '../../../src/sources/tunnels/refresher.js';
import { cloudflareClient, simulator } from '../../helpers/simulator.js';

const MIN = 60_000;

/** One account of `tunnels` tunnels on a fake clock, its list poller and a refresher reading `perSecond`. */
async function fakeClockFleet(tunnels: number, perSecond: number) {
  let clock = Date.parse('2026-11-01T12:00:00Z');
  const sim = await simulator({ now: () => clock, fleet: { accounts: 1, tunnelsPerAccount: tunnels, warpConnectorsPerAccount: 0 } });
  const account = sim.fleet.accounts[0];
  if (!account) throw new Error('no account');
  const store = createSnapshotStore();
  const client = cloudflareClient(sim, { now: () => clock });
  const refresher = createConnectionsRefresher({ client, store, intervalMs: 10 * MIN, pace: () => ({ perSecond, burst: 100 }), now: () => clock });
  const list = createTunnelsPoller({ client, accountId: account.id, store, reporter: createPollReporter(silentLogger()), refresher });
  return {
    sim,
    account,
    list,
    refresher,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

describe('connections refresh', () => {
  it('reads changed tunnels first, then degraded ones taking turns with the rest, oldest first; each at most once per interval', async () => {
    const { sim, account, list, refresher, advance, now } = await fakeClockFleet(16, 1);
    const reads = () => sim.requests.filter((r) => r.endpoint === 'connections.list').map((r) => r.path.split('/')[6] as string);
    const signal = new AbortController().signal;

    await list(signal);
    await refresher.drain();
    const first = reads();
    expect(new Set(first).size).toBe(first.length);

    // Five minutes on: nothing is due, so nothing is read, however often the list is polled.
    advance(5 * MIN);
    await list(signal);
    await refresher.drain();
    expect(reads()).toHaveLength(first.length);

    // A healthy tunnel goes down (the list shows it); ten minutes after the first reads, all are due.
    const changed = account.tunnels.find((t) => t.status === 'healthy');
    if (!changed) throw new Error('no healthy tunnel');
    changed.status = 'down';
    changed.conns_inactive_at = new Date(now()).toISOString();
    advance(5 * MIN);
    await list(signal);
    await refresher.drain();
    const second = reads().slice(first.length);
    const degraded = account.tunnels.filter((t) => t.status === 'degraded').map((t) => t.id);
    expect(second[0]).toBe(changed.id);
    // Degraded ones in every other slot from the first, while the others wait.
    expect(degraded.length).toBeGreaterThan(0);
    expect(second.slice(1, 2 * degraded.length).filter((_, i) => i % 2 === 0)).toEqual(
      second.slice(1, 2 * degraded.length).filter((id) => degraded.includes(id)),
    );
    expect(new Set(second.slice(1, 2 * degraded.length).filter((_, i) => i % 2 === 0))).toEqual(new Set(degraded));
    expect(new Set(second)).toEqual(new Set(first));
  });

  it('starves no tunnel when the degraded ones alone could use the whole refresh share', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 16, warpConnectorsPerAccount: 0 } });
    const account = sim.fleet.accounts[0];
    if (!account) throw new Error('no account');
    // Six degraded tunnels, each due again every 200 ms, and 20 reads a second: re-reading the
    // degraded ones as soon as they are due would take every slot.
    const live = account.tunnels.filter((t) => t.deleted_at === null && t.status !== 'inactive');
    for (const t of live.slice(0, 6)) setTunnelStatus(t, 'degraded', Date.now(), createRandom(4));
    for (const t of live.slice(6)) setTunnelStatus(t, 'healthy', Date.now(), createRandom(5));
    const store = createSnapshotStore();
    const client = cloudflareClient(sim);
    const refresher = createConnectionsRefresher({ client, store, intervalMs: 200, pace: () => ({ perSecond: 20, burst: 1 }) });
    const list = createTunnelsPoller({ client, accountId: account.id, store, reporter: createPollReporter(silentLogger()), refresher });
    await list(new AbortController().signal);
    refresher.start();
    const read = () => new Set(sim.requests.filter((r) => r.endpoint === 'connections.list').map((r) => r.path.split('/')[6]));
    const needing = live.map((t) => t.id);
    for (let i = 0; i < 100 && !needing.every((id) => read().has(id)); i++) await new Promise((r) => setTimeout(r, 50));
    await refresher.stop();
    expect(needing.filter((id) => !read().has(id))).toEqual([]);
    // From the first read on, the others get every other slot: all are read within twice their number.
    const order = sim.requests.filter((r) => r.endpoint === 'connections.list').map((r) => r.path.split('/')[6]);
    expect(needing.filter((id) => !order.slice(0, 2 * needing.length).includes(id))).toEqual([]);
    // The degraded ones were still read more often than the rest.
    const count = (id: string) => sim.requests.filter((r) => r.endpoint === 'connections.list' && r.path.split('/')[6] === id).length;
    const perDegraded = live.slice(0, 6).reduce((n, t) => n + count(t.id), 0) / 6;
    const perHealthy = live.slice(6).reduce((n, t) => n + count(t.id), 0) / (live.length - 6);
    expect(perDegraded).toBeGreaterThan(perHealthy);
  });

  it('reads a tunnel that just came up before the tunnels still waiting for their first read', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 24, warpConnectorsPerAccount: 0 } });
    const account = sim.fleet.accounts[0];
    if (!account) throw new Error('no account');
    const store = createSnapshotStore();
    const client = cloudflareClient(sim);
    const refresher = createConnectionsRefresher({ client, store, intervalMs: 10 * MIN, pace: () => ({ perSecond: 1, burst: 100 }) });
    const list = createTunnelsPoller({ client, accountId: account.id, store, reporter: createPollReporter(silentLogger()), refresher });
    const signal = new AbortController().signal;
    await list(signal);
    // None read yet (a fleet bigger than the budget is always mid-crawl); an inactive tunnel comes up.
    const up = account.tunnels.find((t) => t.status === 'inactive');
    if (!up) throw new Error('no inactive tunnel');
    setTunnelStatus(up, 'healthy', Date.now(), createRandom(2));
    await list(signal);
    await refresher.drain();
    const reads = sim.requests.filter((r) => r.endpoint === 'connections.list').map((r) => r.path.split('/')[6]);
    expect(reads[0]).toBe(up.id);
    expect(reads.length).toBeGreaterThan(10);
  });

  it('counts the tunnels waiting for a read, per account, with and without the refresh running', async () => {
    const { account, list, refresher, advance } = await fakeClockFleet(12, 1000);
    const signal = new AbortController().signal;
    // Inactive tunnels need no call; the rest wait for their first read.
    const needing = account.tunnels.filter((t) => t.deleted_at === null && t.status !== 'inactive' && t.status !== 'down').length;
    await list(signal);
    expect(needing).toBeGreaterThan(0);
    expect(refresher.queued().get(account.id)).toBeGreaterThanOrEqual(needing);
    await refresher.drain();
    expect(refresher.queued().get(account.id)).toBe(0);

    // Running: ten minutes on all are due again; the refresh reads them and the queue is empty again.
    refresher.start();
    advance(10 * MIN);
    await list(signal);
    expect(refresher.queued().get(account.id)).toBeGreaterThanOrEqual(needing);
    await refresher.settled();
    await new Promise((r) => setTimeout(r, 50));
    expect(refresher.queued().get(account.id)).toBe(0);
    await refresher.stop();
  });
});
