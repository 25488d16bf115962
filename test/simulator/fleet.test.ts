import { describe, expect, it } from 'vitest';
import { deriveStatus, generateFleet } from '../../src/simulator/fleet.js';
import { createTimeline } from '../../src/simulator/timeline.js';
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
    expect(tunnel?.connectors.flatMap((c) => c.conns).every((c) => c.is_pending_reconnect)).toBe(true);
    const step = (await (await fetch(`${sim.url}/_simulator/step`, { method: 'POST' })).json()) as { events: string[] };
    expect(step.events.length).toBeGreaterThan(0);
    const state = (await (await fetch(`${sim.url}/_simulator/state`)).json()) as { steps: number };
    expect(state.steps).toBe(1);
  });
});
