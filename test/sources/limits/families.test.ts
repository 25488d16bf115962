// Account usage beside the documented limits, from what the other sources listed: no request.
import { describe, expect, it } from 'vitest';
import { DOCUMENTED_LIMITS, type Tunnel } from '../../../src/domain/types.js';
import { createExporterMetrics } from '../../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../../src/snapshot/store.js';
import { derivedConnector, tunnelRead } from '../../helpers/connectors.js';
import { samples, value } from '../../helpers/exposition.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const ok = { ok: true, at: T0, durationSeconds: 0.1 };
const tunnel = (id: string, type: Tunnel['type']): Tunnel => ({ accountId: 'acc', id, name: id, type, status: 'healthy', configSrc: 'cloudflare' });

describe('account limits', () => {
  it('shows every documented limit (or the raised one) and what the account uses of it, once its source is read', async () => {
    const store = createSnapshotStore();
    const metrics = createExporterMetrics({
      snapshot: store.snapshot,
      staleDataMaxAgeMs: 600_000,
      intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
      accountLimits: { ...DOCUMENTED_LIMITS, routes: 5000 },
      now: () => T0,
    });
    store.recordSuccess('tunnels', 'acc', [tunnel('t1', 'cfd_tunnel'), tunnel('t2', 'cfd_tunnel'), tunnel('w1', 'warp_connector')], ok);
    let text = await metrics.renderOwn();
    expect(value(text, 'cloudflare_account_limit', { account_id: 'acc', resource: 'routes' })).toBe(5000);
    expect(value(text, 'cloudflare_account_limit', { account_id: 'acc', resource: 'cfd_tunnels' })).toBe(1000);
    expect(value(text, 'cloudflare_account_usage', { resource: 'cfd_tunnels' })).toBe(2);
    expect(value(text, 'cloudflare_account_usage', { resource: 'warp_connectors' })).toBe(1);
    // Routes and connections are not read yet: no usage is made up.
    expect(samples(text, 'cloudflare_account_usage', { resource: 'routes' })).toEqual([]);
    expect(samples(text, 'cloudflare_account_usage', { resource: 'connections_per_tunnel' })).toEqual([]);

    store.recordSuccess('routes', 'acc', [{ accountId: 'acc', id: 'r1', network: '10.0.0.0/8', virtualNetwork: 'default', tunnelId: 't1', comment: '' }], ok);
    store.recordSuccess('hostname_routes', 'acc', [{ accountId: 'acc', id: 'h1', hostname: 'wiki.internal', tunnelId: 't1' }], ok);
    const six = derivedConnector(
      'c1',
      Array.from({ length: 6 }, (_, i) => ({ id: `x${i}`, colo: 'ams01', flaggedPending: false })),
    );
    store.recordConnections('acc', new Set(['t1', 't2']), new Map([['t1', tunnelRead('t1', [six], T0)]]), ok);
    text = await metrics.renderOwn();
    expect(value(text, 'cloudflare_account_usage', { resource: 'routes' })).toBe(2);
    expect(value(text, 'cloudflare_account_usage', { resource: 'connections_per_tunnel' })).toBe(6);
  });
});
