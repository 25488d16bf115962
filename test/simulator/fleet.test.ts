import { describe, expect, it } from 'vitest';
import { ageOutRestarted, createRandom, deriveStatus, generateFleet, restartConnector, setTunnelStatus } from '../../src/simulator/fleet.js';
import { createTimeline, RESTARTED_LISTED_MS } from '../../src/simulator/timeline.js';
import { simulator } from '../helpers/simulator.js';

const NOW = Date.parse('2026-11-01T12:00:00Z');

describe('fleet generator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateFleet({ seed: 3, now: NOW })).toEqual(generateFleet({ seed: 3, now: NOW }));
    expect(generateFleet({ seed: 3, now: NOW })).not.toEqual(generateFleet({ seed: 4, now: NOW }));
  });

  it('has every tunnel status, WARP connectors, several versions and colos, and every record status', () => {
    const fleet = generateFleet({ seed: 1, now: NOW, accounts: 2, tunnelsPerAccount: 8 });
    const tunnels = fleet.accounts.flatMap((a) => a.tunnels).filter((t) => t.deleted_at === null);
    expect(new Set(tunnels.map((t) => t.status))).toEqual(new Set(['healthy', 'degraded', 'down', 'inactive']));
    expect(tunnels.filter((t) => t.tun_type === 'warp_connector')).toHaveLength(4);
    const connectors = tunnels.flatMap((t) => t.connectors);
    expect(new Set(connectors.map((c) => c.version)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(connectors.flatMap((c) => c.conns.map((x) => x.colo_name))).size).toBeGreaterThanOrEqual(5);
    expect(new Set(fleet.organizations[0]?.records.map((r) => r.status))).toEqual(
      new Set(['waiting', 'issuing', 'valid', 'warning', 'erroring', 'deleting', 'timed_out']),
    );
  });

  it('keeps status, connections and timestamps consistent through the timeline', () => {
    const fleet = generateFleet({ seed: 2, now: NOW });
    const timeline = createTimeline(fleet, 2);
    const events: string[] = [];
    for (let i = 0; i < 40; i++) {
      events.push(...timeline.step(NOW + i * 5000));
      for (const t of fleet.accounts.flatMap((a) => a.tunnels).filter((x) => x.deleted_at === null)) {
        expect(t.status, `${t.name} after step ${i}`).toBe(deriveStatus(t));
        if (t.status === 'healthy' || t.status === 'degraded') expect(t.conns_inactive_at).toBeNull();
        if (t.status === 'down') expect(t.conns_inactive_at).not.toBeNull();
      }
    }
    expect(events.some((e) => e.endsWith('-> down'))).toBe(true);
    expect(events.some((e) => e.endsWith('-> healthy'))).toBe(true);
    expect(events.some((e) => e.includes('token rotated'))).toBe(true);
    expect(events.some((e) => e.endsWith('-> erroring'))).toBe(true);
    expect(events.some((e) => e.endsWith('-> timed_out'))).toBe(true);
    expect(events.some((e) => e.includes('HA failover'))).toBe(true);
  });
});

describe('a fleet that behaves like cloudflared', () => {
  it('restarts as a new connector (run_at now), the old one listed empty, then gone', () => {
    const fleet = generateFleet({ seed: 5, now: NOW });
    const tunnel = fleet.accounts[0]?.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    if (!tunnel) throw new Error('no healthy tunnel');
    const before = tunnel.connectors.map((c) => c.id);
    const old = restartConnector(tunnel, NOW, createRandom(1), { update: true });
    const added = tunnel.connectors.find((c) => !before.includes(c.id));
    expect(added?.run_at).toBe(new Date(NOW).toISOString());
    expect(added?.conns.length).toBeGreaterThan(0);
    expect(old?.conns).toEqual([]);
    expect(tunnel.connectors).toContain(old);
    expect(ageOutRestarted(tunnel, NOW + RESTARTED_LISTED_MS - 1, RESTARTED_LISTED_MS)).toEqual([]);
    expect(ageOutRestarted(tunnel, NOW + RESTARTED_LISTED_MS, RESTARTED_LISTED_MS)).toEqual([old]);
    expect(tunnel.connectors).not.toContain(old);
  });

  it('has connectors short of their count and connectors on --ha-connections 2, real features, uuid = id', () => {
    const fleet = generateFleet({ seed: 1, now: NOW, accounts: 2, tunnelsPerAccount: 24 });
    const cfd = fleet.accounts.flatMap((a) => a.tunnels).filter((t) => t.tun_type === 'cfd_tunnel' && t.status === 'healthy');
    const held = cfd.flatMap((t) => t.connectors.map((c) => c.conns.length));
    expect(held).toContain(2);
    expect(held).toContain(3);
    expect(held).toContain(4);
    const connector = cfd[0]?.connectors[0];
    expect(connector?.features).toEqual(['allow_remote_config', 'serialized_headers', 'support_datagram_v2', 'support_quic_eof', 'management_logs']);
    for (const c of cfd.flatMap((t) => t.connectors.flatMap((x) => x.conns))) expect(c.uuid).toBe(c.id);
  });

  it('gives WARP tunnels no config_src or remote_config, and calls a tunnel that ran and lost its connectors down, not inactive', () => {
    const fleet = generateFleet({ seed: 1, now: NOW });
    const tunnels = fleet.accounts.flatMap((a) => a.tunnels);
    for (const warp of tunnels.filter((t) => t.tun_type === 'warp_connector')) {
      expect(warp).not.toHaveProperty('config_src');
      expect(warp).not.toHaveProperty('remote_config');
    }
    for (const t of tunnels.filter((x) => x.status === 'inactive')) expect(t.conns_active_at).toBeNull();
    const ran = tunnels.find((t) => t.status === 'healthy');
    if (!ran) throw new Error('no healthy tunnel');
    setTunnelStatus(ran, 'inactive', NOW, createRandom(2));
    expect(ran.status).toBe('down');
  });

  it('moves over a timeline through restarts, overlapping reads and reconnects into another colo', () => {
    const fleet = generateFleet({ seed: 2, now: NOW });
    const timeline = createTimeline(fleet, 2);
    const cfd = () => fleet.accounts.flatMap((a) => a.tunnels).filter((t) => t.tun_type === 'cfd_tunnel');
    const colosBefore = new Map(cfd().flatMap((t) => t.connectors.map((c) => [c.id, new Set(c.conns.map((x) => x.colo_name))] as const)));
    const events: string[] = [];
    let overlapSeen = false;
    for (let i = 0; i < 48; i++) {
      events.push(...timeline.step(NOW + i * 5000));
      if (cfd().some((t) => t.connectors.some((c) => c.conns.length > 4))) overlapSeen = true;
    }
    expect(events.some((e) => e.includes('auto-updated, new connector'))).toBe(true);
    expect(events.some((e) => e.includes('left the list'))).toBe(true);
    expect(overlapSeen).toBe(true);
    const moved = cfd().some((t) => t.connectors.some((c) => c.conns.some((x) => colosBefore.has(c.id) && !colosBefore.get(c.id)?.has(x.colo_name))));
    expect(moved).toBe(true);
  });
});

describe('simulator rate limit', () => {
  it('spends a per-credential budget, then locks out with 429 and Retry-After', async () => {
    const sim = await simulator({ rateLimit: { limit: 5, windowSeconds: 300, lockoutSeconds: 300 } });
    const url = `${sim.cloudflareBaseUrl}/accounts/${sim.accountIds[0]}/gateway/proxy_endpoints`;
    const headers = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('ratelimit'));
    }
    expect(remaining.map((r) => /r=(\d+)/.exec(r ?? '')?.[1])).toEqual(['4', '3', '2', '1', '0']);
    const over = await fetch(url, { headers });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('300');
    expect(((await over.json()) as { errors: { code: number }[] }).errors[0]?.code).toBe(971);
    // Another credential has its own budget.
    const other = await fetch(url, { headers: { 'x-auth-email': sim.credentials.cloudflareEmail, 'x-auth-key': sim.credentials.cloudflareKey } });
    expect(other.status).toBe(200);
    // Still locked out.
    expect((await fetch(url, { headers })).status).toBe(429);
  });
});

describe('simulator control endpoint', () => {
  it('sets and clears faults, lists requests, forces statuses and steps the timeline over HTTP', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const auth = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const list = `${sim.cloudflareBaseUrl}/accounts/${sim.accountIds[0]}/cfd_tunnel`;
    const put = await fetch(`${sim.url}/_simulator/faults`, { method: 'PUT', body: JSON.stringify([{ endpoint: 'tunnels.list', status: 503 }]) });
    expect(put.status).toBe(200);
    expect((await fetch(list, { headers: auth })).status).toBe(503);
    expect((await fetch(`${sim.url}/_simulator/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(list, { headers: auth })).status).toBe(200);
    const requests = (await (await fetch(`${sim.url}/_simulator/requests`)).json()) as { endpoint: string; status: number }[];
    expect(requests.map((r) => [r.endpoint, r.status])).toEqual([
      ['tunnels.list', 503],
      ['tunnels.list', 200],
    ]);

    const tunnel = sim.fleet.accounts[0]?.tunnels.find((t) => t.status === 'healthy');
    const forced = await fetch(`${sim.url}/_simulator/tunnels/${tunnel?.id}/status`, { method: 'POST', body: JSON.stringify({ status: 'down' }) });
    expect(((await forced.json()) as { status: string }).status).toBe('down');
    // Down: the connectors stay listed, holding nothing (no connection is ever flagged pending).
    expect(tunnel?.connectors.length).toBeGreaterThan(0);
    expect(tunnel?.connectors.map((c) => c.conns.length)).toEqual(tunnel?.connectors.map(() => 0));
    const step = (await (await fetch(`${sim.url}/_simulator/step`, { method: 'POST' })).json()) as { events: string[] };
    expect(step.events.length).toBeGreaterThan(0);
    const state = (await (await fetch(`${sim.url}/_simulator/state`)).json()) as { steps: number };
    expect(state.steps).toBe(1);
  });
});
