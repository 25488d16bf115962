// Sharding by account: each account and organization owned by exactly one shard, stable, and few
// moved when a shard is added; the shard from a StatefulSet pod's name; the shared budget.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { ordinalOf, shardOf } from '../../src/config/shard.js';

const ids = Array.from({ length: 3000 }, (_, i) => `${i.toString(16).padStart(8, '0')}${'a'.repeat(24)}`);
const CF = {
  CLOUDFLARE_API_TOKEN: 't',
  CLOUDFLARE_ACCOUNT_IDS: ids.slice(0, 30).join(','),
  POSTHOG_API_KEY: 'k',
  POSTHOG_ORGANIZATION_IDS: 'org-a,org-b,org-c,org-d',
};

function problems(env: Record<string, string>, argv: string[] = []): string[] {
  try {
    loadConfig({ argv, env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('sharding', () => {
  it('gives every id to exactly one shard, about evenly, and moves about 1 in N+1 when a shard is added', () => {
    for (const total of [1, 2, 3, 7]) {
      const counts = Array.from({ length: total }, () => 0);
      for (const id of ids) counts[shardOf(id, total)] = (counts[shardOf(id, total)] ?? 0) + 1;
      for (const n of counts) expect(Math.abs(n - ids.length / total)).toBeLessThan(ids.length / total / 5);
    }
    // 3 -> 4 shards: only ids the new shard takes move (rendezvous hashing), about a quarter.
    const moved = ids.filter((id) => shardOf(id, 3) !== shardOf(id, 4));
    expect(moved.every((id) => shardOf(id, 4) === 3)).toBe(true);
    expect(Math.abs(moved.length / ids.length - 1 / 4)).toBeLessThan(0.03);
  });

  it('splits the accounts and organizations among the shards, each owned once, and divides the default budget', () => {
    const owned = [0, 1, 2].map((shard) => loadConfig({ argv: [], env: { ...CF, TOTAL_SHARDS: '3', SHARD: String(shard) } }).config);
    expect(owned.flatMap((c) => c.cloudflare?.accountIds ?? []).sort()).toEqual(ids.slice(0, 30).sort());
    expect(owned.flatMap((c) => c.posthog?.organizationIds ?? []).sort()).toEqual(['org-a', 'org-b', 'org-c', 'org-d']);
    for (const c of owned) {
      expect(c.sharding.total).toBe(3);
      expect(c.cloudflare?.budget).toBe(100);
    }
    // An explicit budget is per shard.
    expect(loadConfig({ argv: [], env: { ...CF, TOTAL_SHARDS: '3', CLOUDFLARE_API_BUDGET: '250' } }).config.cloudflare?.budget).toBe(250);
    // Unsharded, nothing changes.
    const one = loadConfig({ argv: [], env: CF }).config;
    expect([one.cloudflare?.accountIds.length, one.cloudflare?.budget, one.sharding]).toEqual([30, 300, { shard: 0, total: 1 }]);
  });

  it('takes the shard from a StatefulSet pod name (flag or POD_NAME) unless SHARD is set', () => {
    expect(ordinalOf('cloudflare-tunnel-exporter-2')).toBe(2);
    expect(ordinalOf('exporter')).toBeUndefined();
    expect(loadConfig({ argv: ['--total-shards=3', '--shard.from-pod-name=exporter-1'], env: CF }).config.sharding).toEqual({ shard: 1, total: 3 });
    expect(loadConfig({ argv: [], env: { ...CF, TOTAL_SHARDS: '3', POD_NAME: 'exporter-2' } }).config.sharding).toEqual({ shard: 2, total: 3 });
    expect(loadConfig({ argv: [], env: { ...CF, TOTAL_SHARDS: '3', POD_NAME: 'exporter-2', SHARD: '0' } }).config.sharding).toEqual({ shard: 0, total: 3 });
    // Unsharded, a POD_NAME set for other reasons is ignored.
    expect(loadConfig({ argv: [], env: { ...CF, POD_NAME: 'exporter-7' } }).config.sharding).toEqual({ shard: 0, total: 1 });
  });

  it('refuses a shard out of range, a total below 1 and a pod name without an ordinal, naming each', () => {
    expect(problems({ ...CF, TOTAL_SHARDS: '3', SHARD: '3' })).toEqual(['SHARD: shard 3 is out of range for TOTAL_SHARDS 3 (0 to 2)']);
    expect(problems({ ...CF, TOTAL_SHARDS: '0' })[0]).toContain('TOTAL_SHARDS');
    expect(problems({ ...CF, TOTAL_SHARDS: '3', POD_NAME: 'exporter' })).toEqual([
      'POD_NAME: "exporter" ends in no ordinal (like exporter-2), so it names no shard; set SHARD',
    ]);
    expect(problems({ ...CF, TOTAL_SHARDS: '2', POD_NAME: 'exporter-5' })).toEqual([
      'POD_NAME (its ordinal): shard 5 is out of range for TOTAL_SHARDS 2 (0 to 1)',
    ]);
  });
});
