// `npm run bench`: how fast a scrape is rendered and how much memory the snapshot takes for a
// large fleet, and how long a poll of a large account takes against the simulator. Numbers, not
// pass/fail: speed goals are read from here, never asserted by timed tests.
import { gzipSync } from 'node:zlib';
import { createApiClient } from '../clients/http.js';
import { pino } from 'pino';
import { createExporterMetrics } from '../metrics/registry.js';
import { createPollReporter } from '../pollers/poll.js';
import { createTunnelsPoller } from '../pollers/tunnels.js';
import { startSimulator } from '../simulator/server.js';
import { createSnapshotStore } from '../state/store.js';
import type { Connector, ProxyRecords, Tunnel, TunnelConnections } from '../domain/types.js';

const log = pino({ level: 'silent' });
const COLOS = ['ams01', 'fra06', 'lhr01', 'iad08', 'sjc01', 'sin02'];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function scrapeBenchmark(accounts: number, tunnelsPerAccount: number, iterations: number) {
  const store = createSnapshotStore();
  const now = Date.now();
  const intervals = { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 };
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const outcome = { ok: true, at: now, durationSeconds: 1 };
  for (let a = 0; a < accounts; a++) {
    const accountId = `account${a}`;
    const tunnels: Tunnel[] = Array.from({ length: tunnelsPerAccount }, (_, i) => ({
      accountId,
      id: `tunnel-${a}-${i}`,
      name: `tunnel-${i}`,
      type: i % 10 === 0 ? 'warp_connector' : 'cfd_tunnel',
      status: i % 17 === 0 ? 'degraded' : 'healthy',
      configSrc: 'cloudflare',
      createdAt: now - 86_400_000,
      connsActiveAt: now - 3_600_000,
    }));
    store.recordSuccess('tunnels', accountId, tunnels, outcome);
    const connections = new Map<string, TunnelConnections>();
    for (const [i, t] of tunnels.entries()) {
      const connectors: Connector[] = [0, 1].map((c) => ({
        id: `${t.id}-c${c}`,
        version: c === 0 ? '2025.11.1' : '2025.10.0',
        arch: 'linux_amd64',
        originIp: `198.51.100.${c + 1}`,
        configVersion: 3,
        runAt: now - 7_200_000,
        ...(t.type === 'warp_connector' ? { haStatus: c === 0 ? ('active' as const) : ('passive' as const) } : {}),
        // A degraded tunnel's second connector lost one of its four connections since the last poll.
        connections: [0, 1, 2, 3]
          .filter((k) => !(k === 3 && c === 1 && i % 17 === 0))
          .map((k) => ({ id: `${t.id}-c${c}-${k}`, colo: COLOS[(i + c + (k % 2)) % COLOS.length] as string, flaggedPending: false })),
        complete: 4,
        gone: c === 1 && i % 17 === 0 ? [{ id: `${t.id}-c${c}-3`, colo: COLOS[(i + c + 1) % COLOS.length] as string }] : [],
      }));
      connections.set(t.id, { tunnelId: t.id, connectors, reconnects: new Map(), fetchedAt: now, fetched: true });
    }
    store.recordConnections(accountId, new Set(tunnels.map((t) => t.id)), connections, outcome);
  }
  const records: ProxyRecords = {
    records: Array.from({ length: 100 }, (_, i) => ({ organizationId: 'org', id: `r${i}`, domain: `p${i}.example.com`, targetCname: `x${i}.proxy-us.posthog.com`, status: 'valid', createdAt: now, updatedAt: now })),
    maxProxyRecords: 200,
  };
  store.recordSuccess('proxy_records', 'org', records, outcome);
  global.gc?.();
  const heapSnapshot = process.memoryUsage().heapUsed - heapBefore;

  const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals });
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < iterations; i++) {
    // A new snapshot version each time, so every render rebuilds every family (no cache hit).
    store.recordSuccess('proxy_records', 'org', records, outcome);
    const started = performance.now();
    text = await metrics.renderOwn();
    times.push(performance.now() - started);
  }
  times.sort((x, y) => x - y);
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const gzStarted = performance.now();
  const gz = gzipSync(text);
  const gzipMs = performance.now() - gzStarted;
  return {
    fleet: `${accounts * tunnelsPerAccount} tunnels, ${accounts * tunnelsPerAccount * 2} connectors, 100 records`,
    series,
    body: mb(Buffer.byteLength(text)),
    gzipped: mb(gz.length),
    renderP50: `${percentile(times, 50).toFixed(1)} ms`,
    renderP95: `${percentile(times, 95).toFixed(1)} ms`,
    gzip: `${gzipMs.toFixed(1)} ms`,
    snapshotHeap: global.gc ? mb(heapSnapshot) : 'run with --expose-gc',
  };
}

async function pollBenchmark(tunnels: number, latencyMs: number) {
  const sim = await startSimulator({
    fleet: { seed: 3, accounts: 1, tunnelsPerAccount: tunnels, warpConnectorsPerAccount: 0, deletedTunnelsPerAccount: 0 },
    rateLimit: { limit: 1_000_000, windowSeconds: 300 },
    ...(latencyMs ? { faults: [{ endpoint: '*' as const, latencyMs }] } : {}),
  });
  try {
    const client = createApiClient({ api: 'cloudflare', baseUrl: sim.cloudflareBaseUrl, headers: { authorization: `Bearer ${sim.credentials.cloudflareToken}` }, log });
    const store = createSnapshotStore();
    const poll = createTunnelsPoller({ client, accountId: sim.accountIds[0] as string, store, reporter: createPollReporter(log) });
    const started = performance.now();
    await poll(new AbortController().signal);
    const ms = performance.now() - started;
    return { tunnels, latency: `${latencyMs} ms`, requests: sim.requests.length, poll: `${(ms / 1000).toFixed(2)} s` };
  } finally {
    await sim.close();
  }
}

const scrapes = [await scrapeBenchmark(1, 100, 50), await scrapeBenchmark(5, 400, 20)];
const polls = [await pollBenchmark(200, 0), await pollBenchmark(200, 50)];
const rss = mb(process.memoryUsage().rss);

process.stdout.write('Scrape (render from the snapshot, no cache):\n');
console.table(scrapes);
process.stdout.write('Poll of one account against the simulator (4 connection calls in flight, budget unlimited):\n');
console.table(polls);
process.stdout.write(`Process RSS at the end: ${rss}\n`);
