// What unhealthy tunnels take down now, as the landing page lists it.
import { describe, expect, it } from 'vitest';
import type { Tunnel } from '../../src/domain/types.js';
import { affectedNow } from '../../src/snapshot/affected.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const ok = { ok: true, at: T0, durationSeconds: 0.1 };
const tunnel = (id: string, status: Tunnel['status']): Tunnel => ({
  accountId: 'acc',
  id,
  name: `n-${id}`,
  type: 'cfd_tunnel',
  status,
  configSrc: 'cloudflare',
});
const route = (id: string, tunnelId: string) => ({ accountId: 'acc', id, network: `10.${id}.0.0/16`, virtualNetwork: 'default', tunnelId, comment: '' });

describe('affected now', () => {
  it('lists the hostnames and routes of down and inactive tunnels and routes to deleted ones, not those of healthy or degraded tunnels', () => {
    const store = createSnapshotStore();
    store.recordSuccess('tunnels', 'acc', [tunnel('1', 'down'), tunnel('2', 'healthy'), tunnel('3', 'degraded'), tunnel('4', 'inactive')], ok);
    store.recordConfigurations(
      'acc',
      new Set(['1', '2']),
      new Map([
        ['1', { tunnelId: '1', version: 3, ingress: [{ hostname: 'app.example.com', path: '' }], fetchedAt: T0 }],
        ['2', { tunnelId: '2', version: 1, ingress: [{ hostname: 'ok.example.com', path: '' }], fetchedAt: T0 }],
      ]),
      ok,
    );
    store.recordSuccess('routes', 'acc', [route('1', '1'), route('2', '2'), route('3', '3'), route('4', '4'), route('9', 'gone')], ok);
    store.recordSuccess('hostname_routes', 'acc', [{ accountId: 'acc', id: 'h', hostname: 'wiki.internal', tunnelId: '1' }], ok);
    expect(affectedNow(store.snapshot(), T0, 600_000).map((a) => [a.kind, a.what, a.status])).toEqual([
      ['network', '10.9.0.0/16 (default)', 'deleted'],
      ['hostname', 'app.example.com', 'down'],
      ['network', '10.1.0.0/16 (default)', 'down'],
      ['private hostname', 'wiki.internal', 'down'],
      ['network', '10.4.0.0/16 (default)', 'inactive'],
    ]);
  });

  it('says nothing while the tunnel list fails: a route cannot be told down from deleted then', () => {
    const store = createSnapshotStore();
    store.recordSuccess('tunnels', 'acc', [tunnel('1', 'healthy')], ok);
    store.recordSuccess('routes', 'acc', [route('9', 'gone')], ok);
    store.recordFailure('tunnels', 'acc', { ok: false, at: T0 + 1000, durationSeconds: 0.1, error: 'HTTP 500' });
    expect(affectedNow(store.snapshot(), T0 + 1000, 600_000)).toEqual([]);
  });
});
