// The built daemon as users run it: exit codes, --config.check, readiness, metrics over HTTP(S),
// logfmt, and a clean stop on SIGTERM even with a request hanging upstream.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { freePort, GUARD, runCli, startDaemon, waitFor } from '../helpers/daemon.js';
import { samples, value } from '../helpers/exposition.js';
import { ACCOUNT, ACCOUNT_2 } from '../helpers/ids.js';
import { simulator, simulatorEnv } from '../helpers/simulator.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const simEnv = simulatorEnv;

describe('the daemon without the simulator', () => {
  it('starts from a dist/ that has no simulator: the daemon imports it only for --demo', () => {
    const copy = mkdtempSync(join(tmpdir(), 'no-simulator-'));
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true, filter: (src) => !src.includes(`${join('dist', 'simulator')}`) });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const out = execFileSync(process.execPath, [join(copy, 'dist', 'cli.js'), '--config.check'], {
      env: { ...process.env, CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT },
      encoding: 'utf8',
    });
    expect(out).toContain('configuration is valid');
  });
});

describe('daemon exit codes and --config.check', () => {
  it('exits 2 naming every problem in one message', async () => {
    const { code, stderr } = await runCli(['--log.level=loud'], { CLOUDFLARE_API_TOKEN: 't', STALE_DATA_MAX_AGE: 'forever' });
    expect(code).toBe(2);
    expect(stderr).toBe(
      'cloudflare-tunnel-exporter: invalid configuration:\n' +
        '  - --log.level: must be one of debug, info, warn, error, got "loud"\n' +
        '  - STALE_DATA_MAX_AGE: must be a duration like 30s, 10m or 1h, got "forever"\n' +
        '  - CLOUDFLARE_ACCOUNT_IDS: required when Cloudflare credentials are set\n',
    );
  });

  it('exits 2 when no source is enabled, pointing at --demo', async () => {
    const { code, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stderr).toContain('no source is enabled');
    expect(stderr).toContain('--demo');
  });

  it('--help and --version answer without any configuration', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: cloudflare-tunnel-exporter [flags]');
    expect(help.stdout).toMatch(/CLOUDFLARE_API_BUDGET.*a share of CLOUDFLARE_API_LIMIT/);
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^cloudflare-tunnel-exporter \d+\.\d+\.\d+ \(revision [0-9a-f]{40}, node v\d+/);
  });

  it("reports the git commit it was built from when BUILD_REVISION is not set (a clone), and BUILD_REVISION's when it is (the image)", async () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8' }).trim();
    expect((await runCli(['--version'])).stdout).toContain(`(revision ${head}, `);
    expect((await runCli(['--version'], { BUILD_REVISION: 'f'.repeat(40) })).stdout).toContain(`(revision ${'f'.repeat(40)}, `);
    const daemon = await startDaemon(['--demo']);
    const body = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(body).toMatch(new RegExp(`cloudflare_tunnel_exporter_build_info\\{[^}]*revision="${head}"`));
    daemon.child.kill('SIGTERM');
    await daemon.exit;
  });

  it('--config.check prints the redacted effective config and exits 0', async () => {
    const { code, stdout } = await runCli(['--config.check'], { CLOUDFLARE_API_TOKEN: 'super-secret', CLOUDFLARE_ACCOUNT_IDS: `${ACCOUNT},${ACCOUNT_2}` });
    expect(code).toBe(0);
    expect(stdout).toContain('configuration is valid');
    expect(stdout).toContain('api_token: <redacted>');
    expect(stdout).not.toContain('super-secret');
    expect(stdout).toContain(`    - ${ACCOUNT}\n    - ${ACCOUNT_2}`);
  });
});

describe('daemon against the simulator', () => {
  it('becomes ready, serves the fleet, and stops on SIGTERM within 10s despite a hung upstream call', async () => {
    const sim = await simulator();
    const daemon = await startDaemon([], simEnv(sim));
    await waitFor('ready', async () => ((await fetch(`${daemon.url}/-/ready`)).status === 200 ? true : undefined));
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    const live = sim.fleet.accounts.flatMap((a) => a.tunnels).filter((t) => t.deleted_at === null);
    expect(samples(text, 'cloudflare_tunnel_info')).toHaveLength(live.length);
    expect(samples(text, 'posthog_proxy_record_info')).toHaveLength(sim.fleet.organizations[0]?.records.length ?? -1);

    // Every later call hangs; SIGTERM must still end the process promptly and cleanly.
    sim.setFaults([{ endpoint: '*', hang: true }]);
    const started = Date.now();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(daemon.stdout()).toContain('"msg":"stopped"');
  });

  it('stays ready while every source fails (a failing API must not restart the pod), and says so on /metrics and the landing page', async () => {
    const sim = await simulator({ faults: [{ endpoint: '*', status: 500 }] });
    const daemon = await startDaemon([], simEnv(sim));
    await waitFor('ready', async () => ((await fetch(`${daemon.url}/-/ready`)).status === 200 ? true : undefined));
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(value(text, 'cloudflare_tunnel_exporter_all_sources_failing')).toBe(1);
    const page = await (await fetch(`${daemon.url}/`)).text();
    expect(page).toContain('every source is failing');
    sim.setFaults([]);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it.each([
    ['a second Ctrl-C (npm forwards one) is logged and the clean stop completes', 2, 0, 'still stopping cleanly'],
    ['a third forces the exit, saying so', 3, 130, 'exiting now, without a clean stop'],
  ])('while stopping, %s', { timeout: 20_000 }, async (_name, signals, code, line) => {
    const daemon = await startDaemon(['--demo']);
    // A client that has begun a request and not finished it keeps the server's close waiting (up
    // to 2 s before it closes every connection): a stop that takes long enough to be interrupted.
    const { port } = new URL(daemon.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /metrics HTTP/1.1\r\nHost: exporter\r\n');
    socket.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    daemon.child.kill('SIGINT');
    await waitFor('stopping', async () => (daemon.stdout().includes('"msg":"stopping"') ? true : undefined));
    // One at a time: a signal sent while the same one is still pending is merged with it.
    daemon.child.kill('SIGINT');
    if (signals === 3) {
      await waitFor('the second signal logged', async () => (daemon.stdout().includes('still stopping cleanly') ? true : undefined));
      daemon.child.kill('SIGINT');
    }
    expect(await daemon.exit).toBe(code);
    expect(daemon.stdout()).toContain(line);
    if (code === 0) expect(daemon.stdout()).toContain('"msg":"stopped"');
    socket.destroy();
  });

  it('never logs a credential, and logs logfmt on request', async () => {
    const sim = await simulator({ faults: [{ endpoint: '*', status: 500 }] });
    const daemon = await startDaemon(['--log.format=logfmt', '--log.level=debug'], simEnv(sim));
    await waitFor('ready', async () => ((await fetch(`${daemon.url}/-/ready`)).status === 200 ? true : undefined));
    daemon.child.kill('SIGINT');
    expect(await daemon.exit).toBe(0);
    const out = daemon.stdout();
    expect(out).toMatch(/^time=\S+ level=info msg="exporter listening"/m);
    expect(out).toMatch(/level=error msg="poll failed: keeping the previous data until it is too old" component=poller collector=tunnels/);
    expect(out).not.toContain(sim.credentials.cloudflareToken);
    expect(out).not.toContain(sim.credentials.posthogKey);
  });

  it('serves HTTPS with bcrypt basic auth from --web.config.file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'tls.key'),
        '-out',
        join(dir, 'tls.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(
      join(dir, 'web.yml'),
      `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: ${bcrypt.hashSync('scrape-me', 4)}\n`,
    );
    const sim = await simulator();
    const daemon = await startDaemon([`--web.config.file=${join(dir, 'web.yml')}`], simEnv(sim));
    expect(daemon.url).toMatch(/^https:\/\//);
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const anonymous = await request(`${daemon.url}/metrics`, { dispatcher });
    await anonymous.body.dump();
    expect(anonymous.statusCode).toBe(401);
    const authed = await request(`${daemon.url}/metrics`, {
      dispatcher,
      headers: { authorization: `Basic ${Buffer.from('prometheus:scrape-me').toString('base64')}` },
    });
    expect(authed.statusCode).toBe(200);
    expect(await authed.body.text()).toContain('# TYPE cloudflare_tunnel_status gauge');
    await dispatcher.close();
  });

  it('exits 2 on an invalid web config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-'));
    writeFileSync(join(dir, 'web.yml'), 'basic_auth_users:\n  bob: hunter2\n');
    const { code, stderr } = await runCli([`--web.config.file=${join(dir, 'web.yml')}`, '--demo']);
    expect(code).toBe(2);
    expect(stderr).toContain('basic_auth_users.bob: must be a bcrypt hash');
  });
});

describe('configuration that used to pass --config.check and then fail', () => {
  const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));

  it('certificate or key files that are not PEM: exit 2 naming them, for --config.check and start-up alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-'));
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    writeFileSync(join(dir, 'tls.key'), fixture('server.key'));
    writeFileSync(join(dir, 'web.yml'), 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n');
    for (const extra of [['--config.check'], []]) {
      const { code, stderr } = await runCli([`--web.config.file=${join(dir, 'web.yml')}`, '--demo', ...extra]);
      expect(code).toBe(2);
      expect(stderr).toContain('cert_file tls.crt and key_file tls.key are not a usable PEM certificate and key');
    }
  });

  it('a token file with a line break inside: exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'token-'));
    writeFileSync(join(dir, 'token'), 'first-half\nsecond-half\n');
    const { code, stderr } = await runCli(['--config.check'], { CLOUDFLARE_API_TOKEN_FILE: join(dir, 'token'), CLOUDFLARE_ACCOUNT_IDS: ACCOUNT });
    expect(code).toBe(2);
    expect(stderr).toContain(`CLOUDFLARE_API_TOKEN_FILE (file ${join(dir, 'token')}): contains a line break`);
    expect(stderr).not.toContain('first-half');
  });

  it('a state file that is a folder, or in a folder that does not take files: exit 2 with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-'));
    const base = { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT };
    const folder = await runCli(['--config.check'], { ...base, REMEDIATION_STATE_FILE: dir });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`REMEDIATION_STATE_FILE: ${dir} is a folder`);
    // sysfs takes no new file, not even from root.
    const readOnly = await runCli(['--config.check'], { ...base, REMEDIATION_STATE_FILE: '/sys/remediation-state.json' });
    expect(readOnly.code).toBe(2);
    expect(readOnly.stderr).toContain('REMEDIATION_STATE_FILE: the folder /sys is not writable');
    const missing = await runCli(['--config.check'], { ...base, REMEDIATION_STATE_FILE: join(dir, 'nope', 'state.json') });
    expect(missing.stderr).toContain(`the folder ${join(dir, 'nope')} does not exist`);
  });

  it('--config.check redacts user:password@ in a base URL', async () => {
    const { code, stdout } = await runCli(['--config.check'], {
      CLOUDFLARE_API_TOKEN: 't',
      CLOUDFLARE_ACCOUNT_IDS: ACCOUNT,
      CLOUDFLARE_API_BASE_URL: 'https://user:hunter2@proxy.example/client/v4',
    });
    expect(code).toBe(0);
    expect(stdout).toContain('api_base_url: https://<redacted>@proxy.example/client/v4');
    expect(stdout).not.toContain('hunter2');
  });

  it('an absurd duration: exit 2', async () => {
    const { code, stderr } = await runCli(['--config.check'], {
      CLOUDFLARE_API_TOKEN: 't',
      CLOUDFLARE_ACCOUNT_IDS: ACCOUNT,
      STALE_DATA_MAX_AGE: '99999999999999999999999h',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('STALE_DATA_MAX_AGE: must be at most 365d, got "99999999999999999999999h"');
  });
});

describe('signals', () => {
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('SIGHUP reloads the web config: new basic auth users apply, a broken file keeps the running one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hup-'));
    const web = join(dir, 'web.yml');
    writeFileSync(web, `basic_auth_users:\n  alice: ${bcrypt.hashSync('a-pass', 4)}\n`);
    const sim = await simulator();
    const daemon = await startDaemon([`--web.config.file=${web}`], simEnv(sim));
    const status = async (user: string, password: string) => (await fetch(`${daemon.url}/metrics`, { headers: basic(user, password) })).status;
    expect(await status('alice', 'a-pass')).toBe(200);
    writeFileSync(web, `basic_auth_users:\n  bob: ${bcrypt.hashSync('b-pass', 4)}\n`);
    daemon.child.kill('SIGHUP');
    await waitFor('the reload', async () => (daemon.stdout().includes('web config reloaded') ? true : undefined));
    expect(await status('alice', 'a-pass')).toBe(401);
    expect(await status('bob', 'b-pass')).toBe(200);
    writeFileSync(web, 'basic_auth_users:\n  bob: not-a-hash\n');
    daemon.child.kill('SIGHUP');
    await waitFor('the refused reload', async () => (daemon.stdout().includes('web config not reloaded') ? true : undefined));
    expect(await status('bob', 'b-pass')).toBe(200);
    expect(daemon.child.exitCode).toBeNull();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it('SIGHUP without a web config is logged and changes nothing', async () => {
    const daemon = await startDaemon(['--demo']);
    daemon.child.kill('SIGHUP');
    await waitFor(
      () =>
        `the SIGHUP log line (exit ${daemon.child.exitCode}, signal ${daemon.child.signalCode})\n${daemon.stdout().slice(-2000)}\n${daemon.stderr().slice(-500)}`,
      async () => (daemon.stdout().includes('SIGHUP: no --web.config.file to reload') ? true : undefined),
    );
    expect((await fetch(`${daemon.url}/-/healthy`)).status).toBe(200);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it('SIGUSR1 opens no inspector when started as the image starts it (node --disable-sigusr1)', async (ctx) => {
    if (!process.allowedNodeEnvironmentFlags.has('--disable-sigusr1')) {
      ctx.skip(`Node ${process.version} has no --disable-sigusr1 (22.14 and later have it); CI runs this on its maintained Node lines`);
    }
    const daemon = await startDaemon(['--demo'], {}, ['--disable-sigusr1']);
    daemon.child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 500));
    expect(daemon.stderr()).not.toContain('Debugger listening');
    const inspector = await fetch('http://127.0.0.1:9229/json/version').then(
      () => 'open',
      () => 'closed',
    );
    expect(inspector).toBe('closed');
    expect(daemon.child.exitCode).toBeNull();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });
});

describe('npm run demo', () => {
  it('serves at least 10 tunnels, proxy records and per-colo connections within 60s', async () => {
    const daemon = await startDaemon(['--demo']);
    const text = await waitFor(
      'a demo fleet in /metrics',
      async () => {
        const body = await (await fetch(`${daemon.url}/metrics`)).text();
        const fleet =
          samples(body, 'cloudflare_tunnel_info').length >= 10 &&
          samples(body, 'posthog_proxy_record_info').length > 0 &&
          samples(body, 'cloudflare_tunnel_connections').length > 10;
        return fleet && daemon.stderr().includes('Press Ctrl-C to stop.') ? body : undefined;
      },
      60_000,
    );
    expect(new Set(samples(text, 'cloudflare_tunnel_connections').map((s) => s.labels.colo)).size).toBeGreaterThan(3);
    expect(daemon.stderr()).toContain('Demo: the exporter polls a simulated Cloudflare and PostHog fleet');
    daemon.child.kill('SIGINT');
    expect(await daemon.exit).toBe(0);
  });

  it('stops with npm: SIGTERM to `npm run demo` leaves no process serving its ports', { timeout: 90_000 }, async () => {
    const port = await freePort();
    // A scratch copy of the project: `npm run demo` rebuilds dist/, which other test files are
    // running daemons from at the same time.
    const copy = mkdtempSync(join(tmpdir(), 'npm-demo-'));
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, f), join(copy, f));
    cpSync(join(ROOT, 'src'), join(copy, 'src'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const npm = spawn('npm', ['run', 'demo'], {
      cwd: copy,
      env: { ...process.env, LISTEN_ADDRESS: `127.0.0.1:${port}`, NODE_OPTIONS: `--import=${GUARD}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise((r) => npm.on('exit', r));
    await waitFor(
      () => `the demo listening\n${output}`,
      async () => ((await fetch(`http://127.0.0.1:${port}/-/healthy`)).ok ? true : undefined),
      60_000,
    );
    npm.kill('SIGTERM');
    await exited;
    await waitFor(
      'the port to close',
      async () =>
        (await fetch(`http://127.0.0.1:${port}/-/healthy`).then(
          () => 'open',
          () => 'closed',
        )) === 'closed'
          ? true
          : undefined,
      12_000,
    );
  });

  it('shows derived pending reconnects and reconnects within two minutes', { timeout: 150_000 }, async () => {
    const daemon = await startDaemon(['--demo']);
    const positive = (body: string, name: string) => samples(body, name).some((s) => s.value > 0);
    const seen = { pending: false, reconnects: false };
    await waitFor(
      'pending reconnects and reconnects in the demo',
      async () => {
        const body = await (await fetch(`${daemon.url}/metrics`)).text();
        seen.pending ||= positive(body, 'cloudflare_tunnel_pending_reconnect_connections');
        seen.reconnects ||= positive(body, 'cloudflare_tunnel_connection_reconnects_total');
        return seen.pending && seen.reconnects ? true : undefined;
      },
      120_000,
    );
    daemon.child.kill('SIGINT');
    expect(await daemon.exit).toBe(0);
  });
});
