import { describe, expect, it } from 'vitest';
import { createCloudflareBudget, estimateCloudflareRequests, refreshPace, remediationReserve } from '../../src/budget/plan.js';
import type { Tunnel } from '../../src/domain/types.js';
import { createLogger } from '../../src/log.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { TUNNELS_PER_PAGE } from '../../src/sources/tunnels/api.js';
import { listedTunnel } from '../helpers/connectors.js';

const NOW = Date.parse('2026-11-01T12:00:00Z');
const INTERVALS = { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 };
const t = (id: string, status: Tunnel['status']): Tunnel => listedTunnel(id, status, { connsInactiveAt: NOW - 3_600_000 });
const ok = { ok: true, at: NOW, durationSeconds: 0 };

describe('Cloudflare request estimate', () => {
  it('counts list calls, one connections call per tunnel that can have connections, and Gateway', () => {
    const store = createSnapshotStore();
    store.recordSuccess('tunnels', 'a', [t('1', 'healthy'), t('2', 'degraded'), t('3', 'inactive'), t('4', 'down')], ok);
    // (1 list page + 2 connections calls) every 30s = 30 per 5 minutes, plus Gateway every 5 minutes.
    expect(estimateCloudflareRequests(store.snapshot(), INTERVALS, NOW, TUNNELS_PER_PAGE)).toEqual({
      scheduled: 11,
      connections: 20,
      configurations: 0,
      total: 31,
    });
  });

  it('counts a list page per 1000 tunnels, and a page for an account not listed yet', () => {
    const store = createSnapshotStore();
    // 2,500 inactive tunnels (no connections calls): 3 pages; a second account not listed yet: 1.
    store.recordSuccess(
      'tunnels',
      'a',
      Array.from({ length: 2500 }, (_, i) => t(String(i), 'inactive')),
      ok,
    );
    expect(estimateCloudflareRequests(store.snapshot(), { ...INTERVALS, tunnelsSeconds: 300 }, NOW, TUNNELS_PER_PAGE, 2)).toEqual({
      scheduled: 3 + 1 + 2,
      connections: 0,
      configurations: 0,
      total: 6,
    });
  });
});

describe('the shares of the budget', () => {
  it('keeps for remediation two requests per action an hour allows, spread over the twelve windows, and one more', () => {
    expect(remediationReserve(10)).toBe(3);
    expect(remediationReserve(60)).toBe(11);
  });

  it('gives the refresh what the priority lane leaves: all at once when the fleet fits, evenly when it does not', () => {
    expect(refreshPace(300, 60, 200)).toEqual({ perSecond: 0.8, burst: 240 });
    expect(refreshPace(300, 60, 5000)).toEqual({ perSecond: 0.8, burst: 12 });
    expect(refreshPace(300, 400, 10)).toEqual({ perSecond: 0, burst: 1 });
  });
});

describe('the over-budget warning', () => {
  /** A budget of `budget` for one account, the log lines it wrote, and a way to list `n` healthy tunnels. */
  const planned = (budget: number) => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'info', format: 'json', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } as never });
    const store = createSnapshotStore();
    const plan = createCloudflareBudget({
      budget,
      intervals: INTERVALS,
      accounts: 1,
      perPage: TUNNELS_PER_PAGE,
      remediationReserve: 0,
      tunnelsSchedule: '*/30 * * * * *',
      snapshot: store.snapshot(),
      log,
      now: () => NOW,
    });
    const list = (n: number) => {
      store.recordSuccess(
        'tunnels',
        'a',
        Array.from({ length: n }, (_, i) => t(String(i), 'healthy')),
        ok,
      );
      plan.update(store.snapshot());
    };
    return { plan, lines, list };
  };

  it('says when the schedules need more than CLOUDFLARE_API_BUDGET, once per 10% change of the estimate', () => {
    const { plan, lines, list } = planned(50);
    list(8);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: expect.stringMatching(/the schedules need more Cloudflare requests than CLOUDFLARE_API_BUDGET.*a share of CLOUDFLARE_API_LIMIT/),
        budget: 50,
        estimated_requests_per_5m: 91,
        tunnels_schedule: '*/30 * * * * *',
      }),
    ]);
    // The same 91 again: said once.
    list(8);
    expect(lines).toHaveLength(1);
    list(12);
    expect(lines).toHaveLength(2);
    expect(plan.estimate()).toEqual({ scheduled: 11, connections: 120, configurations: 0, total: 131 });
  });

  it('says so when the list polls alone need more', () => {
    const { lines, list } = planned(5);
    list(0);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/the list polls alone need more Cloudflare requests than CLOUDFLARE_API_BUDGET.*a share of CLOUDFLARE_API_LIMIT/),
        scheduled_per_5m: 11,
      }),
    ]);
  });

  it('stays quiet within the budget', () => {
    const { lines, list } = planned(300);
    list(8);
    expect(lines).toEqual([]);
  });
});
