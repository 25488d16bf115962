// The monitoring stack for real, on loopback: the exporter polls the simulator, Debian's
// Prometheus 2.42 scrapes it with the shipped alert rules, Debian's Alertmanager 0.25 runs the
// shipped alertmanager.yml. Asserts that every dashboard query returns data, and that a tunnel
// forced down in the simulator reaches Alertmanager as CloudflareTunnelDown naming what it takes
// down, with CloudflareTunnelHostnameDown per public hostname and CloudflareTunnelRouteUnreachable
// for its private network (and its pending reconnect alert inhibited).
//
// One deliberate change to the shipped rules: every `for:` becomes 1s and Prometheus evaluates
// every second, so the test takes seconds instead of the rules' real 5-60 minutes. The
// expressions, labels and annotations are the shipped ones; promtool's rule tests cover `for:`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createExporter } from '../../src/exporter.js';
import { DASHBOARDS } from '../../src/generators/dashboards/definitions.js';
import { silentLogger } from '../../src/log.js';
import { freePort, waitFor } from '../helpers/daemon.js';
import { samples } from '../helpers/exposition.js';
import { dashboardQueries } from '../helpers/promql.js';
import { simulator, simulatorConfig } from '../helpers/simulator.js';
import { tool } from '../helpers/tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function start(bin: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}

describe('exporter + Prometheus + Alertmanager', () => {
  it('serves every dashboard query and pages CloudflareTunnelDown, its hostnames and its route through Alertmanager', { timeout: 90_000 }, async (ctx) => {
    const prometheusBin = tool('prometheus', ctx);
    const alertmanagerBin = tool('alertmanager', ctx);

    const sim = await simulator({
      fleet: { accounts: 1, tunnelsPerAccount: 8, warpConnectorsPerAccount: 1 },
      rateLimit: { limit: 100_000, windowSeconds: 300 },
    });
    const everySecond = '* * * * * *';
    const exporter = createExporter({
      config: simulatorConfig(sim, {
        schedules: { tunnels: everySecond, gateway: everySecond, proxyRecords: everySecond, routes: everySecond, configurations: '0 0 * * * *' },
        remediation: { staleConnectors: 'dry-run', proxyRecords: 'dry-run', proxyRecordRetryMethod: 'retry' },
        cloudflare: {
          auth: { kind: 'token', token: sim.credentials.cloudflareToken },
          accountIds: sim.accountIds,
          baseUrl: sim.cloudflareBaseUrl,
          budget: 100_000,
        },
      }),
      log: silentLogger(),
    });
    const server = await exporter.start();
    let stopped = false;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'stack-'));
      const [amPort, promPort] = [await freePort(), await freePort()];
      const rules = readFileSync(`${root}prometheus/alerts.yml`, 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 1s');
      writeFileSync(join(dir, 'alerts.yml'), rules);
      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          'rule_files: [alerts.yml]',
          `alerting: { alertmanagers: [ { static_configs: [ { targets: ["127.0.0.1:${amPort}"] } ] } ] }`,
          // Prometheus scrapes itself too, as every real one does: a second job beside the exporter's.
          `scrape_configs: [ { job_name: cloudflare-tunnel-exporter, static_configs: [ { targets: ["${new URL(server.url).host}"] } ] }, { job_name: prometheus, static_configs: [ { targets: ["127.0.0.1:${promPort}"] } ] } ]`,
        ].join('\n'),
      );
      const am = start(alertmanagerBin, [
        `--config.file=${root}alertmanager/alertmanager.yml`,
        `--storage.path=${join(dir, 'am')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ]);
      const prom = start(prometheusBin, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prom')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ]);
      const promUrl = `http://127.0.0.1:${promPort}`;
      const amUrl = `http://127.0.0.1:${amPort}`;
      await waitFor(
        () => `Alertmanager ready\n${am.output()}`,
        async () => ((await fetch(`${amUrl}/-/ready`)).ok ? true : undefined),
        20_000,
      );
      await waitFor(
        () => `Prometheus ready\n${prom.output()}`,
        async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined),
        20_000,
      );

      const query = async (expr: string) => {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } };
        if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
        return body.data.result;
      };
      // Connections drop and come back as they do in life: a tunnel degrades (one connector loses two
      // connections), the exporter sees them pending, then they reconnect with new ids.
      const flapper = sim.fleet.accounts[0]?.tunnels.filter((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel').at(-1);
      const setStatus = (status: string) => fetch(`${sim.url}/_simulator/tunnels/${flapper?.id}/status`, { method: 'POST', body: JSON.stringify({ status }) });
      const derived = async (name: string) => {
        const text = await exporter.metrics.renderOwn();
        return samples(text, name, { tunnel_id: flapper?.id as string }).some((x) => x.value > 0) ? true : undefined;
      };
      await waitFor('a first poll of the flapping tunnel', () => derived('cloudflare_tunnel_connections'));
      await setStatus('degraded');
      await waitFor('derived pending reconnects', () => derived('cloudflare_tunnel_pending_reconnect_connections'));
      await waitFor(
        'a scrape of them',
        async () => ((await query('cloudflare_tunnel_pending_reconnect_connections > 0')).length > 0 ? true : undefined),
        30_000,
      );
      await setStatus('healthy');
      await waitFor('counted reconnects', () => derived('cloudflare_tunnel_connection_reconnects_total'));
      // And it drops again, so the dashboards' "pending now" panels have something to show.
      await setStatus('degraded');
      await waitFor('pending again', () => derived('cloudflare_tunnel_pending_reconnect_connections'));
      await waitFor(
        'a few scrapes',
        async () => ((await query('count_over_time(up{job="cloudflare-tunnel-exporter"}[1m]) >= 4')).length > 0 ? true : undefined),
        30_000,
      );

      // Every dashboard query returns data, with the dashboards' variables set as a user would.
      // A remotely managed one with two connectors or more, so its hostnames, routes and configuration show.
      const detailTunnel = sim.fleet.accounts[0]?.tunnels.find((t) => t.status === 'healthy' && t.configuration && t.connectors.length >= 2);
      const vars: Record<string, string> = {
        account_id: '.*',
        organization_id: '.*',
        job: 'cloudflare-tunnel-exporter',
        tunnel: detailTunnel?.id as string,
        __rate_interval: '30s',
      };
      const empty: string[] = [];
      let count = 0;
      for (const [file, model] of Object.entries(DASHBOARDS)) {
        for (const expr of dashboardQueries(model)) {
          const concrete = expr.replace(/\$(\w+)/g, (_, name: string) => vars[name] ?? `$${name}`);
          if ((await query(concrete)).length === 0) empty.push(`${file}: ${concrete}`);
          count++;
        }
      }
      expect(empty).toEqual([]);
      expect(count).toBeGreaterThan(40);

      // Force a healthy tunnel down in the simulator; the page must reach Alertmanager.
      // A remotely managed one, so what it takes down (its public hostnames, its private network) is known.
      const victim = sim.fleet.accounts[0]?.tunnels.find((t) => t.status === 'healthy' && t.configuration && t !== detailTunnel);
      if (!victim) throw new Error('no healthy remotely managed tunnel to take down');
      const hostnames = (victim.configuration?.ingress ?? []).flatMap((r) => (r.hostname ? [r.hostname] : []));
      const route = sim.fleet.accounts[0]?.routes.find((r) => r.tunnel_id === victim.id && r.deleted_at === null);
      if (hostnames.length === 0 || !route) throw new Error('the tunnel to take down has no hostname or no route');
      const alerts = async () => (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as AmAlert[];
      expect((await alerts()).some((a) => a.labels.alertname === 'CloudflareTunnelDown' && a.labels.tunnel_id === victim.id)).toBe(false);
      const forced = await fetch(`${sim.url}/_simulator/tunnels/${victim.id}/status`, { method: 'POST', body: JSON.stringify({ status: 'down' }) });
      expect(forced.status).toBe(200);

      const down = await waitFor(
        'CloudflareTunnelDown in Alertmanager',
        async () => (await alerts()).find((a) => a.labels.alertname === 'CloudflareTunnelDown' && a.labels.tunnel_id === victim.id),
        30_000,
      );
      expect(down.labels).toMatchObject({ severity: 'critical', tunnel_name: victim.name, account_id: sim.accountIds[0] });
      expect(down.status.state).toBe('active');
      // The page says what is broken, not only a UUID.
      expect(down.annotations.description).toContain(`Public hostnames down: ${[...hostnames].sort().join(', ')}.`);
      expect(down.annotations.description).toContain(`Private networks unreachable: ${route.network} (${route.virtual_network_name}).`);
      // And each hostname and the route fire on their own, named.
      for (const hostname of hostnames) {
        const alert = await waitFor(
          `CloudflareTunnelHostnameDown for ${hostname} in Alertmanager`,
          async () => (await alerts()).find((a) => a.labels.alertname === 'CloudflareTunnelHostnameDown' && a.labels.hostname === hostname),
          30_000,
        );
        expect(alert.labels).toMatchObject({ severity: 'critical', tunnel_id: victim.id, tunnel_name: victim.name });
        expect(alert.annotations.summary).toBe(`${hostname} is down: its Cloudflare Tunnel ${victim.name} is down.`);
      }
      const unreachable = await waitFor(
        'CloudflareTunnelRouteUnreachable in Alertmanager',
        async () => (await alerts()).find((a) => a.labels.alertname === 'CloudflareTunnelRouteUnreachable' && a.labels.tunnel_id === victim.id),
        30_000,
      );
      expect(unreachable.labels).toMatchObject({ network: route.network, virtual_network: route.virtual_network_name, status: 'down', severity: 'critical' });
      expect(unreachable.annotations.summary).toBe(`Private network ${route.network} (${route.virtual_network_name}) is unreachable: its tunnel is down.`);
      // The same tunnel's pending-reconnect alert arrives too, and is inhibited by the down one.
      const pending = await waitFor(
        'CloudflareTunnelPendingReconnects in Alertmanager',
        async () =>
          (await alerts()).find(
            (a) => a.labels.alertname === 'CloudflareTunnelPendingReconnects' && a.labels.tunnel_id === victim.id && a.status.state === 'suppressed',
          ),
        30_000,
      );
      expect(pending.status.inhibitedBy.length).toBe(1);

      // The exporter stops: the health dashboard's Up panel, with its job variable at All as a
      // user first sees it, must say down, whatever other jobs Prometheus scrapes.
      await exporter.stop();
      stopped = true;
      await waitFor('up 0 for the exporter', async () => ((await query('up{job="cloudflare-tunnel-exporter"} == 0')).length > 0 ? true : undefined), 30_000);
      const health = DASHBOARDS['exporter-health.json'] as {
        panels: { title?: string; targets?: { expr: string }[] }[];
        templating: { list: { name: string; allValue?: string }[] };
      };
      const jobVar = health.templating.list.find((v) => v.name === 'job');
      const jobs = ['cloudflare-tunnel-exporter'];
      // Grafana's All: the variable's allValue if it has one, else every value it lists, as a regex.
      const all = jobVar?.allValue ?? `(${jobs.join('|')})`;
      const up = health.panels.find((p) => p.title === 'Up')?.targets?.[0]?.expr as string;
      const result = (await query(up.replace(/\$job/g, all))) as { value: [number, string] }[];
      expect(result.map((r) => Number(r.value[1]))).toEqual([0]);
    } finally {
      if (!stopped) await exporter.stop();
    }
  });
});
