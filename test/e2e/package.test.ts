// The npm package as a user gets it: `npm pack`, installed into an empty folder, its bin run with
// --version and with --demo (scraped once). Only what the daemon needs is in it: no bench, no
// generators. Dependencies come from the npm cache `npm ci` filled (--prefer-offline). It packs the
// dist/ `npm test` built (--ignore-scripts: the prepack build would rewrite dist/ under the tests
// running beside this one).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GUARD, waitFor } from '../helpers/daemon.js';
import { value } from '../helpers/exposition.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the npm package', () => {
  it('installs into an empty folder and its bin runs --version and --demo', { timeout: 120_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'pack-'));
    const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: root, encoding: 'utf8' })) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain('dist/cli.js');
    expect(files).toContain('dist/simulator/server.js');
    expect(files.filter((f) => f.startsWith('dist/bench/') || f.startsWith('dist/generators/'))).toEqual([]);

    const app = mkdtempSync(join(tmpdir(), 'install-'));
    execFileSync(npm, ['init', '-y'], { cwd: app, stdio: 'ignore' });
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(out, packed[0]?.filename as string)], { cwd: app, stdio: 'ignore' });
    expect(readdirSync(join(app, 'node_modules/.bin'))).toContain('cloudflare-tunnel-exporter');
    const bin = join(app, 'node_modules/.bin/cloudflare-tunnel-exporter');
    const env = { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--import=${GUARD}` };
    expect(execFileSync(bin, ['--version'], { cwd: app, encoding: 'utf8', env })).toMatch(/^cloudflare-tunnel-exporter \d+\.\d+\.\d+/);

    const demo = spawn(bin, ['--demo', '--web.listen-address=127.0.0.1:0'], { cwd: app, env });
    try {
      let log = '';
      demo.stdout.on('data', (d: Buffer) => (log += d.toString()));
      const url = await waitFor(
        () => `the demo listening\n${log}`,
        async () => /"url":"([^"]+)".*"msg":"exporter listening"/.exec(log)?.[1],
        30_000,
      );
      const text = await waitFor(
        'a first poll',
        async () => {
          const body = await (await fetch(`${url}/metrics`)).text();
          return body.includes('cloudflare_tunnel_info{') ? body : undefined;
        },
        30_000,
      );
      expect(value(text, 'cloudflare_tunnel_exporter_build_info', {})).toBe(1);
    } finally {
      demo.kill('SIGTERM');
    }
  });
});
