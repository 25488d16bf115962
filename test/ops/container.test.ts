// What can be checked of the Dockerfile and the compose stack without a Docker engine: the files
// they copy and mount exist, ports are bound to loopback, the command they run works, and the
// HEALTHCHECK script answers correctly.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, startDaemon } from '../helpers/daemon.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
}
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as { services: Record<string, Service> };

describe('Dockerfile', () => {
  it('is multi-stage on Node LTS, production dependencies only, non-root, with a shell-free HEALTHCHECK and the daemon as CMD', () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const image of stages) expect(image).toMatch(/^node:\d*[02468]-slim$/);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "dist\/healthcheck\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/cli\.js"\]$/m);
  });

  it('copies only files that exist', () => {
    for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of (sources as string).split(/\s+/)) expect(existsSync(`${root}${source}`), source).toBe(true);
    }
  });

  it('the HEALTHCHECK script exits 0 against a running exporter and 1 without one', async () => {
    const healthcheck = CLI.replace(/cli\.js$/, 'healthcheck.js');
    const daemon = await startDaemon(['--demo']);
    const port = new URL(daemon.url).port;
    expect(execFileSync(process.execPath, [healthcheck], { env: { LISTEN_ADDRESS: `:${port}` }, stdio: 'pipe' }).toString()).toBe('');
    daemon.child.kill('SIGTERM');
    await daemon.exit;
    expect(() => execFileSync(process.execPath, [healthcheck], { env: { LISTEN_ADDRESS: `:${port}` }, stdio: 'pipe' })).toThrow();
  });
});

describe('docker-compose.yml', () => {
  it('has the exporter, Prometheus, Alertmanager and Grafana, with health checks and loopback-only ports', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'exporter', 'grafana', 'prometheus']);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
      if (name !== 'exporter') expect(service.healthcheck?.test[0], name).toBe('CMD');
    }
  });

  it('mounts only files and folders that exist in the repository', () => {
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('./'));
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    for (const mount of mounts) expect(existsSync(`${root}${mount.split(':')[0]}`), mount).toBe(true);
  });

  it("runs the exporter's command: demo by default, real mode with DEMO=false", async () => {
    const command = compose.services.exporter?.command ?? [];
    expect(command.slice(0, 2)).toEqual(['node', 'dist/cli.js']);
    const withDemo = (demo: string) => (command[2] as string).replace('${DEMO:-true}', demo);
    const demo = await runCli([withDemo('true'), '--config.check']);
    expect(demo.code).toBe(0);
    const real = await runCli([withDemo('false'), '--config.check'], { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: 'acc' });
    expect(real.code).toBe(0);
    const unset = await runCli([withDemo('false')]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('no source is enabled');
  });

  it('provisions a Prometheus datasource whose uid the dashboards default to', () => {
    const ds = parse(readFileSync(`${root}grafana/provisioning/datasources/prometheus.yml`, 'utf8')) as { datasources: { uid: string; url: string }[] };
    expect(ds.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' });
    const dashboards = parse(readFileSync(`${root}grafana/provisioning/dashboards/dashboards.yml`, 'utf8')) as { providers: { options: { path: string } }[] };
    expect(compose.services.grafana?.volumes).toContain(`./grafana/dashboards:${dashboards.providers[0]?.options.path}:ro`);
    const prometheusConfig = readFileSync(`${root}prometheus/prometheus.yml`, 'utf8');
    expect(prometheusConfig).toContain('exporter:9877');
    expect(prometheusConfig).toContain('alertmanager:9093');
  });
});
