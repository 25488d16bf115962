// What can be checked of the Dockerfile and the compose stack without a Docker engine: the files
// they copy and mount exist, ports are bound to loopback, the command they run works, and the
// HEALTHCHECK script answers correctly.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI, runCli, startDaemon } from '../helpers/daemon.js';
import { ACCOUNT } from '../helpers/ids.js';

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
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ARG placeholder
    for (const image of stages) expect(image).toBe('${NODE_IMAGE}');
    // One base for every stage: the official image at an even (LTS) Node line, the exact version CI
    // tests, on the Debian release the build script assembles a stand-in from.
    const base = /^ARG NODE_IMAGE=docker\.io\/library\/node:(\d+)\.(\d+\.\d+)-(\w+)-slim$/m.exec(dockerfile);
    expect(base, 'ARG NODE_IMAGE').not.toBeNull();
    expect(Number(base?.[1]) % 2).toBe(0);
    expect(dockerfile).toContain(`ARG NODE_VERSION=${base?.[1]}.${base?.[2]}`);
    expect(dockerfile).toContain(`ARG DEBIAN_RELEASE=${base?.[3]}`);
    expect(readFileSync(`${root}.ci/run`, 'utf8')).toContain(`${base?.[1]}.${base?.[2]}`);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "dist\/healthcheck\.js"\]$/m);
    // --disable-sigusr1: a signal must not open the Node inspector in production (Node 22.14+).
    expect(dockerfile).toMatch(/^CMD \["node", "--disable-sigusr1", "dist\/cli\.js"\]$/m);
  });

  it("runs its CMD with the image's environment: every ENV, malloc's threshold a number glibc accepts", async () => {
    const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S*)$/gm)].map((m) => [m[1], m[2]]));
    const env: Record<string, string> = {};
    for (const [, body] of dockerfile.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
      for (const [, name, value] of (body as string).matchAll(/(\w+)=(\S+)/g)) {
        env[name as string] = (value as string).replace(/\$\{(\w+)\}/g, (_, arg: string) => args[arg] ?? '');
      }
    }
    expect(Object.keys(env).sort()).toEqual(['BUILD_REVISION', 'MALLOC_MMAP_THRESHOLD_', 'NODE_ENV', 'NODE_OPTIONS']);
    // glibc ignores, without a word, a value that is not a plain number of bytes or is over 32 MiB.
    expect(env.MALLOC_MMAP_THRESHOLD_).toMatch(/^\d+$/);
    expect(Number(env.MALLOC_MMAP_THRESHOLD_)).toBeLessThanOrEqual(32 * 1024 * 1024);
    // One flag (the bench reads it as one); Node refuses to start on a flag NODE_OPTIONS may not hold.
    expect(env.NODE_OPTIONS).toMatch(/^--max-semi-space-size=\d+$/);
    const daemon = await startDaemon(['--demo'], env);
    expect(await (await fetch(`${daemon.url}/metrics`)).text()).toContain('cloudflare_tunnel_exporter_build_info{');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it('copies only files that exist', () => {
    for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of (sources as string).split(/\s+/)) expect(existsSync(`${root}${source}`), source).toBe(true);
    }
  });

  it.each([
    ['basic auth', (hash: string) => `basic_auth_users:\n  prometheus: ${hash}\n`],
    ['TLS', () => 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'],
    [
      'TLS with required client certificates',
      () => 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n',
    ],
  ])('the HEALTHCHECK passes with a web config using %s (WEB_CONFIG_FILE)', async (_name, web) => {
    const dir = mkdtempSync(join(tmpdir(), 'health-'));
    for (const f of ['server.crt', 'server.key', 'ca.crt']) copyFileSync(`${root}test/fixtures/tls/${f}`, join(dir, f));
    writeFileSync(join(dir, 'web.yml'), web(bcrypt.hashSync('x', 4)));
    const daemon = await startDaemon(['--demo'], { WEB_CONFIG_FILE: join(dir, 'web.yml') });
    const port = new URL(daemon.url).port;
    const healthcheck = CLI.replace(/cli\.js$/, 'healthcheck.js');
    expect(
      execFileSync(process.execPath, [healthcheck], { env: { LISTEN_ADDRESS: `:${port}`, WEB_CONFIG_FILE: join(dir, 'web.yml') }, stdio: 'pipe' }).toString(),
    ).toBe('');
    daemon.child.kill('SIGTERM');
    await daemon.exit;
    expect(() =>
      execFileSync(process.execPath, [healthcheck], { env: { LISTEN_ADDRESS: `:${port}`, WEB_CONFIG_FILE: join(dir, 'web.yml') }, stdio: 'pipe' }),
    ).toThrow();
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

  it('the HEALTHCHECK asks the address the daemon resolved from its YAML config file or its flags, not only LISTEN_ADDRESS', async () => {
    const healthcheck = CLI.replace(/cli\.js$/, 'healthcheck.js');
    const daemon = await startDaemon(['--demo']);
    const port = new URL(daemon.url).port;
    const dir = mkdtempSync(join(tmpdir(), 'health-'));
    writeFileSync(join(dir, 'config.yml'), `web:\n  listen_address: "127.0.0.1:${port}"\n`);
    try {
      expect(execFileSync(process.execPath, [healthcheck], { env: { CONFIG_FILE: join(dir, 'config.yml') }, stdio: 'pipe' }).toString()).toBe('');
      expect(execFileSync(process.execPath, [healthcheck, `--web.listen-address=:${port}`], { env: {}, stdio: 'pipe' }).toString()).toBe('');
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exit;
    }
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

  it('keeps REMEDIATION_STATE_FILE on a named volume, in the folder the image gives its unprivileged user', () => {
    const exporter = compose.services.exporter as Service & { environment?: Record<string, string> };
    const stateFile = exporter.environment?.REMEDIATION_STATE_FILE ?? '';
    const folder = stateFile.slice(0, stateFile.lastIndexOf('/'));
    expect(folder).toBe('/var/lib/cloudflare-tunnel-exporter');
    expect(exporter.volumes).toContain(`exporter-state:${folder}`);
    expect(dockerfile).toContain(`RUN mkdir -p ${folder} && chown node:node ${folder}`);
    expect(dockerfile.indexOf(`chown node:node ${folder}`)).toBeLessThan(dockerfile.indexOf('USER node'));
  });

  it('mounts only files and folders that exist in the repository', () => {
    const mounts = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .filter((v) => v.startsWith('./'));
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    for (const mount of mounts) expect(existsSync(`${root}${mount.split(':')[0]}`), mount).toBe(true);
  });

  it("runs the exporter's command: demo by default, real mode with DEMO=false", async () => {
    const command = compose.services.exporter?.command ?? [];
    expect(command.slice(0, 3)).toEqual(['node', '--disable-sigusr1', 'dist/cli.js']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's variable syntax, not JavaScript's
    const withDemo = (demo: string) => (command[3] as string).replace('${DEMO:-true}', demo);
    const demo = await runCli([withDemo('true'), '--config.check']);
    expect(demo.code).toBe(0);
    const real = await runCli([withDemo('false'), '--config.check'], { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT });
    expect(real.code).toBe(0);
    const unset = await runCli([withDemo('false')]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('no source is enabled');
  });

  it.each([
    ['a Cloudflare-only user', ['docker-compose.secrets.yml'], { CLOUDFLARE_ACCOUNT_IDS: ACCOUNT }],
    ['a PostHog-only user', ['docker-compose.posthog-secret.yml'], { POSTHOG_ORGANIZATION_IDS: 'org' }],
    [
      'a user of both',
      ['docker-compose.secrets.yml', 'docker-compose.posthog-secret.yml'],
      { CLOUDFLARE_ACCOUNT_IDS: ACCOUNT, POSTHOG_ORGANIZATION_IDS: 'org' },
    ],
  ])('the secrets overlays give %s a valid configuration', async (_who, files, ids) => {
    // Each overlay's environment, with its /run/secrets files made real.
    const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
    const env: Record<string, string> = { ...ids };
    for (const file of files) {
      const overlay = parse(readFileSync(`${root}${file}`, 'utf8')) as {
        services: { exporter: { environment: Record<string, string> } };
        secrets: Record<string, { file: string }>;
      };
      for (const [name, value] of Object.entries(overlay.services.exporter.environment)) {
        const secret = value.replace('/run/secrets/', '');
        expect(overlay.secrets[secret]?.file, `${file}: ${name}`).toBe(`./secrets/${secret}`);
        writeFileSync(join(dir, secret), 'a-secret');
        env[name] = join(dir, secret);
      }
    }
    const { code, stderr } = await runCli(['--demo=false', '--config.check'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
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
