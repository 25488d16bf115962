// The landing page in a real browser: Debian's headless Chromium loads / from an exporter polling
// the simulator, at a phone's width, and the test asserts on the DOM it rendered. A screenshot is
// kept in test-artifacts/ (ignored by git) for a person to look at.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createExporter } from '../../src/exporter.js';
import { silentLogger } from '../../src/log.js';
import { simulator, simulatorConfig, WITH_REACH } from '../helpers/simulator.js';
import { browser } from '../helpers/tools.js';

const run = promisify(execFile);
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** Headless Chromium as this machine allows it: no sandbox as root, no background traffic. */
function chromiumArgs(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--window-size=390,1600',
  ];
}

describe('landing page in Chromium', () => {
  it('shows each source, what is unreachable now, the budget, remediation decisions and the links, at a phone width', { timeout: 60_000 }, async (ctx) => {
    const chromium = browser(ctx);
    // Eight tunnels: one is down from the start, remotely managed, with a route; the second account's token may not read routes.
    const sim = await simulator({ fleet: { accounts: 2, tunnelsPerAccount: 8, recordsPerOrganization: 9, maxProxyRecords: 20, routesForbiddenIn: 1 } });
    const config = simulatorConfig(sim, {
      ...WITH_REACH,
      remediation: { proxyRecords: 'dry-run', proxyRecordRetryMethod: 'recreate' },
    });
    const exporter = createExporter({ config, log: silentLogger() });
    const server = await exporter.start();
    try {
      await exporter.ready();
      await exporter.connectionsSettled();
      await exporter.remediation?.idle();
      const profile = mkdtempSync(join(tmpdir(), 'chromium-'));
      const { stdout: dom } = await run(chromium, [...chromiumArgs(profile), '--dump-dom', `${server.url}/`], { maxBuffer: 10 * 1024 * 1024 });

      expect(dom).toContain('<h1>Cloudflare Tunnel Exporter</h1>');
      expect(dom).toContain('Ready; every source polled successfully.');
      for (const source of ['tunnels', 'connections', 'gateway_proxy_endpoints', 'proxy_records', 'tunnel_configurations', 'routes', 'hostname_routes'])
        expect(dom).toContain(`<td>${source}</td>`);
      // The second account's routes are skipped, not failing; the first account's down tunnel takes its hostnames and network down.
      expect(dom).toContain('skipped: no permission');
      const down = sim.fleet.accounts[0]?.tunnels.find((t) => t.status === 'down' && t.configuration);
      const route = sim.fleet.accounts[0]?.routes.find((r) => r.tunnel_id === down?.id);
      if (!down?.configuration || !route) throw new Error('no down tunnel with hostnames and a route');
      expect(dom).toContain('<h2>Unreachable now</h2>');
      for (const rule of down.configuration.ingress.filter((r) => r.hostname))
        expect(dom).toContain(`<td>${rule.hostname}${rule.path ?? ''}</td><td>hostname</td>`);
      expect(dom).toContain(`<td>${route.network} (${route.virtual_network_name})</td><td>network</td>`);
      expect(dom).toMatch(/<b>\d+<\/b> of <b>1000<\/b> requests in the last 5 minutes/);
      expect(dom).toContain('Proxy records: <b>dry-run</b>');
      const erroring = sim.fleet.organizations[0]?.records.find((r) => r.status === 'erroring');
      expect(dom).toMatch(
        new RegExp(`<td>retry_proxy_record</td><td>dry-run</td><td class="id" title="[^"]+">${erroring?.domain.replace(/\./g, '\\.')}</td><td>would_act</td>`),
      );
      expect(dom).toContain(`<a href="/metrics">Metrics</a>`);
      expect(dom).toContain('>Documentation</a>');

      mkdirSync(ARTIFACTS, { recursive: true });
      const screenshot = join(ARTIFACTS, 'landing-phone.png');
      await run(chromium, [...chromiumArgs(profile), `--screenshot=${screenshot}`, `${server.url}/`]);
      expect(existsSync(screenshot)).toBe(true);
      expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await exporter.stop();
    }
  });

  it("shows all of /metrics when followed from the landing page's link (the gzip body is one member)", { timeout: 60_000 }, async (ctx) => {
    const chromium = browser(ctx);
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 6, recordsPerOrganization: 3, maxProxyRecords: 20 } });
    const exporter = createExporter({ config: simulatorConfig(sim), log: silentLogger() });
    const server = await exporter.start();
    try {
      await exporter.ready();
      await exporter.connectionsSettled();
      const profile = mkdtempSync(join(tmpdir(), 'chromium-'));
      // Chromium asks for gzip and, like every browser, reads only the first gzip member.
      const { stdout: dom } = await run(chromium, [...chromiumArgs(profile), '--dump-dom', `${server.url}/metrics`], { maxBuffer: 10 * 1024 * 1024 });
      const plain = await (await fetch(`${server.url}/metrics`, { headers: { 'accept-encoding': 'identity' } })).text();
      const statusLines = plain.split('\n').filter((l) => l.startsWith('cloudflare_tunnel_status{')).length;
      expect(statusLines).toBeGreaterThan(0);
      expect(dom.split('\n').filter((l) => l.startsWith('cloudflare_tunnel_status{')).length).toBe(statusLines);
      // The self-metrics and the process metrics come last.
      expect(dom).toContain('cloudflare_tunnel_exporter_build_info{');
      expect(dom).toContain('process_resident_memory_bytes ');
    } finally {
      await exporter.stop();
    }
  });
});
