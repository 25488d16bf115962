// The container image as built by scripts/build-image.sh (CI builds it before `npm test`), run the
// way Kubernetes runs it: the pod settings of deploy/kubernetes rendered by kustomize (uid and gid,
// read-only root filesystem, the Secret and the state volume, the ConfigMap and the container's
// environment), pointed at a simulator on loopback. Its HEALTHCHECK is run as a runtime runs it,
// inside the container, with and without a web config.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { freePort, waitFor } from '../helpers/daemon.js';
import { value } from '../helpers/exposition.js';
import { builtImage, Container, type ImageConfig } from '../helpers/image.js';
import { simulator } from '../helpers/simulator.js';
import { tool } from '../helpers/tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
const containers: Container[] = [];
afterEach(() => {
  for (const c of containers.splice(0)) c.close();
});

function open(config: ImageConfig): Container {
  const c = new Container(config);
  containers.push(c);
  return c;
}

interface Pod {
  user: string;
  readOnlyRoot: boolean;
  env: Record<string, string>;
  mounts: { name: string; mountPath: string; kind: 'secret' | 'emptyDir' }[];
}

/** The pod deploy/kubernetes makes, as `kubectl kustomize` renders it. */
function kubernetesPod(kubectl: string): Pod {
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain YAML data
  const docs = parseAllDocuments(execFileSync(kubectl, ['kustomize', `${root}deploy/kubernetes`], { encoding: 'utf8' })).map((d) => d.toJS() as any);
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const spec = deployment.spec.template.spec;
  const container = spec.containers[0];
  const volumes = new Map<string, 'secret' | 'emptyDir'>(
    spec.volumes.map((v: { name: string; secret?: unknown }) => [v.name, v.secret ? 'secret' : 'emptyDir']),
  );
  return {
    user: `${spec.securityContext.runAsUser}:${spec.securityContext.runAsGroup}`,
    readOnlyRoot: container.securityContext.readOnlyRootFilesystem === true,
    env: { ...configMap.data, ...Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value])) },
    mounts: container.volumeMounts.map((m: { name: string; mountPath: string }) => ({ ...m, kind: volumes.get(m.name) })),
  };
}

describe('the container image', () => {
  it('is labelled with its version, revision and base, runs as the unprivileged node user, and stays under 300 MB', (ctx) => {
    const image = builtImage(ctx);
    expect(image.User).toBe('node');
    const labels = image.Labels;
    expect(labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    if (process.env.CI === 'true') {
      expect(labels['org.opencontainers.image.revision']).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim());
    }
    expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\/github\.com\//);
    expect(labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
    const dockerfileBase = /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(`${root}Dockerfile`, 'utf8'))?.[1];
    expect(labels['org.opencontainers.image.base.name']).toBe(dockerfileBase);
    expect(labels['org.opencontainers.image.base.digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.Env).toContain(`BUILD_REVISION=${labels['org.opencontainers.image.revision']}`);
    expect(image.size).toBeLessThan(300e6);
  });

  it('answers --version with its version and revision, as uid 1000 on a read-only root filesystem', async (ctx) => {
    const image = builtImage(ctx);
    const run = open(image).start({ user: '1000:1000', readOnlyRoot: true }, ['node', 'dist/cli.js', '--version']);
    let out = '';
    run.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    run.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
    expect(out).toBe(`cloudflare-tunnel-exporter ${pkg.version} (revision ${image.Labels['org.opencontainers.image.revision']}, node v26.10.0)\n`);
    expect(code).toBe(0);
  });

  it("serves the fleet with the Kubernetes manifest's settings, passes its HEALTHCHECK, and stops cleanly on SIGTERM", { timeout: 60_000 }, async (ctx) => {
    const image = builtImage(ctx);
    const pod = kubernetesPod(tool('kubectl', ctx));
    expect(pod).toMatchObject({ user: '1000:1000', readOnlyRoot: true });
    const sim = await simulator();
    const volumes: Record<string, string> = {};
    for (const mount of pod.mounts) {
      const dir = mkdtempSync(join(tmpdir(), `volume-${mount.name}-`));
      // A Secret's files as Kubernetes writes them (defaultMode 0644); an emptyDir the pod's fsGroup owns.
      if (mount.kind === 'secret') {
        chmodSync(dir, 0o755);
        writeFileSync(join(dir, 'cloudflare_api_token'), sim.credentials.cloudflareToken, { mode: 0o644 });
      } else chownSync(dir, 1000, 1000);
      volumes[dir] = mount.mountPath;
    }
    const port = await freePort();
    const container = open(image);
    const env = {
      ...pod.env,
      // What a user changes in exporter.env: their accounts (here the simulator's) and, for the
      // test only, where the API is.
      CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
      CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
      LISTEN_ADDRESS: `127.0.0.1:${port}`,
    };
    const run = container.start({ user: pod.user, readOnlyRoot: pod.readOnlyRoot, volumes, env });
    let log = '';
    run.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    run.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const body = await waitFor(
      () => `the image serving tunnels\n${log}`,
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
        return text.includes('cloudflare_tunnel_info{') ? text : undefined;
      },
      30_000,
    );
    const revision = image.Labels['org.opencontainers.image.revision'] ?? '';
    expect(value(body, 'cloudflare_tunnel_exporter_build_info', { version: pkg.version, revision })).toBe(1);
    expect((await fetch(`http://127.0.0.1:${port}/-/ready`)).status).toBe(200);
    const status = readFileSync(`/proc/${container.pid1(run)}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(container.exec(run, pod.user, ['node', '-e', 'require("fs").writeFileSync("/app/x", "")']).output).toContain('EROFS');
    const healthcheck = image.Healthcheck.Test.slice(1);
    expect(container.exec(run, pod.user, healthcheck)).toEqual({ code: 0, output: '' });
    process.kill(container.pid1(run), 'SIGTERM');
    expect(await new Promise((resolve) => run.on('exit', resolve))).toBe(0);
    expect(log).toContain('"msg":"stopped"');
  });

  it('passes its HEALTHCHECK with a web config that turns on TLS and basic auth', { timeout: 60_000 }, async (ctx) => {
    const image = builtImage(ctx);
    const web = mkdtempSync(join(tmpdir(), 'web-'));
    chmodSync(web, 0o755);
    for (const f of ['server.crt', 'server.key']) {
      copyFileSync(`${root}test/fixtures/tls/${f}`, join(web, f));
      chmodSync(join(web, f), 0o644);
    }
    writeFileSync(
      join(web, 'web.yml'),
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${bcrypt.hashSync('x', 4)}\n`,
    );
    const port = await freePort();
    const container = open(image);
    const run = container.start({ user: '1000:1000', readOnlyRoot: true, volumes: { [web]: '/etc/cloudflare-tunnel-exporter' } }, [
      ...image.Cmd,
      '--demo',
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.config.file=/etc/cloudflare-tunnel-exporter/web.yml',
    ]);
    let log = '';
    run.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(
      () => `the image listening\n${log}`,
      async () => (log.includes('exporter listening') ? true : undefined),
      30_000,
    );
    expect(container.exec(run, '1000:1000', image.Healthcheck.Test.slice(1))).toEqual({ code: 0, output: '' });
    process.kill(container.pid1(run), 'SIGTERM');
    expect(await new Promise((resolve) => run.on('exit', resolve))).toBe(0);
  });
});
