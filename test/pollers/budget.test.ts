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

  /** A daemon against 8 tunnels with this budget; the first log line that contains `text`. */
  async function budgetWarning(budget: string, text: string) {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8 } });
    const daemon = await startDaemon([], {
      CLOUDFLARE_API_TOKEN: sim.credentials.cloudflareToken,
      CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
      CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
      CLOUDFLARE_API_BUDGET: budget,
    });
    const line = await waitFor(text, async () =>
      daemon
        .stdout()
        .split('\n')
        .find((l) => l.includes(text)),
    );
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
    return JSON.parse(line);
  }

  it('the daemon warns when the schedules need more than CLOUDFLARE_API_BUDGET', async () => {
    const line = await budgetWarning('50', 'the schedules need more Cloudflare requests than CLOUDFLARE_API_BUDGET');
    expect(line).toMatchObject({ level: 'warn', budget: 50, tunnels_schedule: '*/30 * * * * *' });
    expect(line.estimated_requests_per_5m).toBeGreaterThan(50);
  });

  it('the daemon says so when the list polls alone need more than CLOUDFLARE_API_BUDGET', async () => {
    // A list page every 30 s and a Gateway poll every 5 minutes: 11 per 5 minutes.
    const line = await budgetWarning('5', 'the list polls alone need more Cloudflare requests than CLOUDFLARE_API_BUDGET');
    expect(line).toMatchObject({ level: 'warn', budget: 5, scheduled_per_5m: 11 });
  });
});
