// Three shards of the built daemon against one simulated fleet (six accounts, three organizations,
// one token), scraped by Debian's Prometheus 2.42 with the shipped rules: every tunnel and record
// appears exactly once across the shards, CloudflareTunnelDown fires once per down tunnel (not once
// per shard), and with remediation on each stale connector is removed by exactly one shard.
// As in stack.test.ts, every `for:` becomes 1s and Prometheus evaluates every second.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DASHBOARDS } from '../../src/generators/dashboards/definitions.js';
import { createRandom, rotateConnector } from '../../src/simulator/fleet.js';
import { freePort, startDaemon, waitFor } from '../helpers/daemon.js';
import { dashboardQueries } from '../helpers/promql.js';
import { simulator, simulatorEnv } from '../helpers/simulator.js';
import { tool } from '../helpers/tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('three shards', () => {
  it('export each tunnel and record once, fire each tunnel alert once and remove each stale connector once', { timeout: 90_000 }, async (ctx) => {
    const prometheusBin = tool('prometheus', ctx);
    const sim = await simulator({
      fleet: { accounts: 6, tunnelsPerAccount: 8, warpConnectorsPerAccount: 0, organizations: 3, recordsPerOrganization: 3, maxProxyRecords: 20 },
      rateLimit: { limit: 100_000, windowSeconds: 300 },
    });
    // A stale connector in every account (a token rotation left the old cloudflared listed).
    const stale: string[] = [];
    for (const account of sim.fleet.accounts) {
      const healthy = account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
      const old = healthy ? rotateConnector(healthy, Date.now(), createRandom(stale.length + 1)) : undefined;
      if (old) stale.push(old.id);
    }
    expect(stale).toHaveLength(6);
    const env = (shard: number) => ({
      ...simulatorEnv(sim),
      TOTAL_SHARDS: '3',
      SHARD: String(shard),
      CLOUDFLARE_API_BUDGET: '10000',
      // The simulator allows far more than Cloudflare's 1200.
      CLOUDFLARE_API_LIMIT: '100000',
      TUNNELS_SCHEDULE: '* * * * * *',
      PROXY_RECORDS_SCHEDULE: '* * * * * *',
      STALE_CONNECTOR_AFTER: '2s',
      REMEDIATE_STALE_CONNECTORS: 'on',
    });
    const shards = await Promise.all([0, 1, 2].map((shard) => startDaemon([], env(shard))));

    const dir = mkdtempSync(join(tmpdir(), 'sharded-'));
    const promPort = await freePort();
    writeFileSync(join(dir, 'alerts.yml'), readFileSync(`${root}prometheus/alerts.yml`, 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 1s'));
    const targets = shards.map((s) => `"${new URL(s.url).host}"`).join(', ');
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [alerts.yml]',
        `scrape_configs: [ { job_name: cloudflare-tunnel-exporter, static_configs: [ { targets: [${targets}] } ] } ]`,
      ].join('\n'),
    );
    const prom = spawn(
      prometheusBin,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      {
        stdio: 'ignore',
      },
    );
    children.push(prom);
    const promUrl = `http://127.0.0.1:${promPort}`;
    await waitFor('Prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 20_000);
    const query = async (expr: string) => {
      const body = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
        status: string;
        error?: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
      return body.data.result;
    };
    const scalar = async (expr: string) => Number((await query(expr))[0]?.value[1] ?? Number.NaN);

    const live = sim.fleet.accounts.flatMap((a) => a.tunnels.filter((t) => t.deleted_at === null));
    const records = sim.fleet.organizations.flatMap((o) => o.records);
    await waitFor(
      'every shard scraped with every account and organization owned',
      async () => ((await scalar('count(cloudflare_tunnel_exporter_shard_owns)')) === 9 && (await scalar('count(up == 1)')) === 3 ? true : undefined),
      30_000,
    );
    // Each account and organization owned by one shard, and each shard owns some.
    expect(await query('count by (scope) (cloudflare_tunnel_exporter_shard_owns) > 1')).toEqual([]);
    expect((await query('count by (instance) (cloudflare_tunnel_exporter_shard_owns{kind="account"})')).length).toBe(3);
    await waitFor(
      'every tunnel listed',
      async () => ((await scalar('count(count by (tunnel_id) (cloudflare_tunnel_info))')) === live.length ? true : undefined),
      30_000,
    );
    expect(await query('count by (tunnel_id) (cloudflare_tunnel_info) > 1')).toEqual([]);
    expect(await scalar('count(count by (record_id) (posthog_proxy_record_info))')).toBe(records.length);
    expect(await query('count by (record_id) (posthog_proxy_record_info) > 1')).toEqual([]);

    // Every dashboard query works across the shards (no join that finds one series per shard), and
    // the fleet overview's tunnel table lists each tunnel once.
    const vars: Record<string, string> = { account_id: '.*', organization_id: '.*', job: 'cloudflare-tunnel-exporter', tunnel: '.*', __rate_interval: '30s' };
    for (const model of Object.values(DASHBOARDS)) {
      for (const expr of dashboardQueries(model)) await query(expr.replace(/\$(\w+)/g, (_, name: string) => vars[name] ?? `$${name}`));
    }
    const table = await query('max by (account_id, tunnel_id, tunnel_name, tunnel_type, status) (cloudflare_tunnel_status{account_id=~".*"} == 1)');
    expect(table).toHaveLength(live.length);

    // The down tunnels each fire CloudflareTunnelDown once.
    const down = live.filter((t) => t.status === 'down');
    expect(down.length).toBeGreaterThan(0);
    await waitFor(
      'CloudflareTunnelDown for every down tunnel',
      async () => ((await scalar('count(ALERTS{alertname="CloudflareTunnelDown",alertstate="firing"})')) === down.length ? true : undefined),
      30_000,
    );
    expect(await query('count by (tunnel_id) (ALERTS{alertname="CloudflareTunnelDown"}) > 1')).toEqual([]);

    // Each stale connector removed once, by the one shard that owns its account.
    await waitFor(
      'a DELETE for every stale connector',
      async () => (sim.requests.filter((r) => r.method === 'DELETE').length >= stale.length ? true : undefined),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    const deletes = sim.requests.filter((r) => r.method === 'DELETE').map((r) => r.query.client_id);
    expect(deletes.sort()).toEqual([...stale].sort());
    const actions = await query('sum by (instance) (cloudflare_tunnel_exporter_remediation_actions_total{action="cleanup_connector",mode="live"})');
    expect(actions.reduce((n, r) => n + Number(r.value[1]), 0)).toBe(stale.length);
    for (const s of shards) s.child.kill('SIGTERM');
  });
});
