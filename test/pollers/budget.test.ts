import { describe, expect, it } from 'vitest';
import type { Tunnel } from '../../src/domain/types.js';
import { estimateCloudflareRequests } from '../../src/pollers/budget.js';
import { createSnapshotStore } from '../../src/state/store.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { simulator } from '../helpers/simulator.js';

const NOW = Date.parse('2026-11-01T12:00:00Z');
const t = (id: string, status: Tunnel['status']): Tunnel => ({
  accountId: 'a',
  id,
  name: id,
  type: 'cfd_tunnel',
  status,
  configSrc: 'cloudflare',
  connsInactiveAt: NOW - 3_600_000,
});

describe('Cloudflare request estimate', () => {
  it('counts list calls, one connections call per tunnel that can have connections, and Gateway', () => {
    const store = createSnapshotStore();
    const ok = { ok: true, at: NOW, durationSeconds: 0 };
    store.recordSuccess('tunnels', 'a', [t('1', 'healthy'), t('2', 'degraded'), t('3', 'inactive'), t('4', 'down')], ok);
    // (1 list page + 2 connections calls) every 30s = 30 per 5 minutes, plus Gateway every 5 minutes.
    expect(estimateCloudflareRequests(store.snapshot(), { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 }, NOW)).toEqual({
      scheduled: 11,
      connections: 20,
      total: 31,
    });
  });

  it('counts a list page per 1000 tunnels, and a page for an account not listed yet', () => {
    const store = createSnapshotStore();
    const ok = { ok: true, at: NOW, durationSeconds: 0 };
    // 2,500 inactive tunnels (no connections calls): 3 pages; a second account not listed yet: 1.
    store.recordSuccess(
      'tunnels',
      'a',
      Array.from({ length: 2500 }, (_, i) => t(String(i), 'inactive')),
      ok,
    );
    expect(estimateCloudflareRequests(store.snapshot(), { tunnelsSeconds: 300, gatewaySeconds: 300, proxyRecordsSeconds: 60 }, NOW, 2)).toEqual({
      scheduled: 3 + 1 + 2,
      connections: 0,
      total: 6,
    });
  });

  it('the daemon warns when the schedules need more than CLOUDFLARE_API_BUDGET', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8 } });
    const daemon = await startDaemon([], {
      CLOUDFLARE_API_TOKEN: sim.credentials.cloudflareToken,
      CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
      CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
      CLOUDFLARE_API_BUDGET: '50',
    });
    const line = await waitFor('the budget warning', async () =>
      daemon
        .stdout()
        .split('\n')
        .find((l) => l.includes('more Cloudflare requests than CLOUDFLARE_API_BUDGET')),
    );
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', budget: 50, tunnels_schedule: '*/30 * * * * *' });
    expect(JSON.parse(line).estimated_requests_per_5m).toBeGreaterThan(50);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it('the daemon says so when the list polls alone need more than CLOUDFLARE_API_BUDGET', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8 } });
    const daemon = await startDaemon([], {
      CLOUDFLARE_API_TOKEN: sim.credentials.cloudflareToken,
      CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
      CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
      // A list page every 30 s and a Gateway poll every 5 minutes: 11 per 5 minutes.
      CLOUDFLARE_API_BUDGET: '5',
    });
    const line = await waitFor('the list budget warning', async () =>
      daemon
        .stdout()
        .split('\n')
        .find((l) => l.includes('the list polls alone need more Cloudflare requests than CLOUDFLARE_API_BUDGET')),
    );
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', budget: 5, scheduled_per_5m: 11 });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });
});
