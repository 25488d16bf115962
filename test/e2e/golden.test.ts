// One golden /metrics diff, end to end: the exporter polls the seeded simulator over HTTP and
// is scraped over HTTP. Values that depend on timing (durations, latency histograms, the
// last Ratelimit header seen under concurrency) and on the machine (Node version, process
// metrics) are left out. UPDATE_GOLDEN=1 rewrites the file after a deliberate change.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createExporter } from '../../src/exporter.js';
import { silentLogger } from '../../src/log.js';
import { simulator, simulatorConfig, WITH_REACH } from '../helpers/simulator.js';
import { tool } from '../helpers/tools.js';

const NOW = Date.parse('2026-11-01T12:00:00Z');
const GOLDEN = new URL('../fixtures/golden.prom', import.meta.url);
const VARIABLE =
  /^(# (HELP|TYPE) )?(process_|nodejs_|cloudflare_tunnel_exporter_(collector_duration_seconds|api_request_duration_seconds|api_ratelimit_remaining|build_info))/;

async function scrapeSimulatedFleet() {
  const sim = await simulator({
    now: () => NOW,
    fleet: { seed: 11, accounts: 1, tunnelsPerAccount: 8, warpConnectorsPerAccount: 1, proxyEndpointsPerAccount: 2, recordsPerOrganization: 9 },
  });
  const exporter = createExporter({ config: simulatorConfig(sim, WITH_REACH), log: silentLogger(), now: () => NOW });
  const server = await exporter.start();
  try {
    await exporter.ready();
    await exporter.connectionsSettled();
    const res = await fetch(`${server.url}/metrics`);
    return { text: await res.text(), own: await exporter.metrics.renderOwn() };
  } finally {
    await exporter.stop();
  }
}

/** Drops the variable lines and sorts samples within each family (label sets appear in request order). */
function stableLines(text: string): string[] {
  const out: string[] = [];
  let block: string[] = [];
  const flush = () => {
    out.push(...block.sort());
    block = [];
  };
  for (const line of text.split('\n')) {
    if (line === '' || VARIABLE.test(line)) continue;
    if (line.startsWith('#')) {
      flush();
      out.push(line);
    } else block.push(line);
  }
  flush();
  return out;
}

describe('golden /metrics', () => {
  it('matches test/fixtures/golden.prom', async (ctx) => {
    const { text } = await scrapeSimulatedFleet();
    const stable = `${stableLines(text).join('\n')}\n`;
    if (process.env.UPDATE_GOLDEN === '1') {
      // Rewriting the file is not a comparison: say so instead of passing against itself.
      writeFileSync(GOLDEN, stable);
      ctx.skip('UPDATE_GOLDEN=1: rewrote test/fixtures/golden.prom; run again without it to compare');
    }
    expect(stable).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('the whole /metrics exposition, process metrics included, passes promtool check metrics', async (ctx) => {
    const promtool = tool('promtool', ctx);
    const { text } = await scrapeSimulatedFleet();
    const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });
});
