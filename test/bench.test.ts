// `npm run bench` works from a clean clone: a small fleet for two seconds, every row filled in.
// It asserts no speed (speed goals are read from the bench, never from a timed test), only that
// the measurements are made: readiness, the request count, the scrape ratios, memory.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { GUARD } from './helpers/daemon.js';

const BENCH = fileURLToPath(new URL('../dist/bench/run.js', import.meta.url));

function runBench(args: string[], nodeArgs: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    // The guard reaches the simulator and the exporter the bench starts through NODE_OPTIONS.
    const child = spawn(process.execPath, [...nodeArgs, BENCH, ...args], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--import=${GUARD}` },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** The min / median / max cell of a row of the bench's table. */
const cell = (out: string, row: string) => new RegExp(`│ ${row.replace(/[()/]/g, '\\$&')}\\s+│ '([^']*)'`).exec(out)?.[1];

it('runs against the simulator and fills in readiness, requests, scrape ratios and memory', async () => {
  const { code, out } = await runBench(['--sizes', '100', '--runs', '1', '--seconds', '2'], ['--expose-gc']);
  expect(code, out).toBe(0);
  expect(out).toMatch(/^100 tunnels, budget 300\/5m/m);
  // The exporter ran with the loopback guard and the Docker image's own NODE_OPTIONS.
  expect(out).toContain(`NODE_OPTIONS=--import=${GUARD} --max-semi-space-size=8`);
  const number = /^(\d+(\.\d+)?) \/ \1 \/ \1/;
  for (const row of ['ready (s)', 'gzip scrape p50 / static gzip p50', 'scrape p50 / static p50', 'exporter heap used (MiB)']) {
    expect(cell(out, row), row).toMatch(number);
  }
  expect(cell(out, 'scrapes missing tunnel series')).toBe('0 / 0 / 0');
  expect(cell(out, '429 responses')).toBe('0 / 0 / 0');
  expect(cell(out, 'list requests per poll (minimum)')).toBe('1.0 / 1.0 / 1.0 (1)');
}, 60_000);

it('refuses to run without --expose-gc, which its timing needs', async () => {
  const { code, out } = await runBench(['--sizes', '100', '--runs', '1', '--seconds', '1'], []);
  expect(code).not.toBe(0);
  expect(out).toContain('run the bench with node --expose-gc');
});
