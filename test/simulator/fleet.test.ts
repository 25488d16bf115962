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
