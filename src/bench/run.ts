// `npm run bench [-- --sizes 1000,10000,30000 --runs 3 --seconds 60]`: the exporter at fleet
// scale against the simulator, each in its own process as users run them; this process is only the
// client that measures. Numbers, not pass/fail: speed goals are read from here, never asserted by
// timed tests. Per fleet size and run it reports, and then min/median/max over the runs:
// - readiness; requests per tunnel list poll against the minimum (a page per 1000 tunnels);
// - requests sent during the run, against the budget, and 429s received;
// - status freshness: a tunnel forced down in the simulator, seconds until /metrics shows it;
// - a tunnel that comes up: seconds until /metrics shows its per-colo connections;
// - connections data age p50/p99 at the end, and the floor the budget allows;
// - scrape p50/p99, plain and gzip, as ratios to the same bytes served from a buffer by node:http;
// - whether any scrape missed tunnel series; the exporter's RSS, heap and event-loop lag;
// - the lowest heap used in each sixth of the run, or each 5 minutes of a run of 30 minutes or
//   more (a soak), with the tunnels whose connections had been read by then: a floor that climbs
//   while that count does not is a leak.
// The exporter runs with the Docker image's memory settings (its `ENV MALLOC_...` and
// `ENV NODE_OPTIONS` lines) unless --no-image-env; --env KEY=VALUE adds or overrides
// (CLOUDFLARE_API_BUDGET too).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';

const DIST = fileURLToPath(new URL('../', import.meta.url));
/** The default CLOUDFLARE_API_BUDGET; --env CLOUDFLARE_API_BUDGET=N runs (and computes) with N. */
const DEFAULT_BUDGET = 300;
/**
 * The memory settings the Docker image sets (its `ENV MALLOC_...` and `ENV NODE_OPTIONS` lines), so
 * the exporter is measured as the image runs it; --no-image-env leaves them out.
 */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(fileURLToPath(new URL('../../Dockerfile', import.meta.url)), 'utf8');
  return Object.fromEntries([...dockerfile.matchAll(/^ENV (MALLOC_[A-Z_]+|NODE_OPTIONS)=(\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** NODE_OPTIONS the bench itself runs with (the tests' loopback guard) go to its children too, first. */
function withInheritedNodeOptions(env: Record<string, string>): Record<string, string> {
  const nodeOptions = [process.env.NODE_OPTIONS, env.NODE_OPTIONS].filter(Boolean).join(' ');
  return nodeOptions ? { ...env, NODE_OPTIONS: nodeOptions } : env;
}

function child(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; line: (re: RegExp) => Promise<RegExpExecArray> } {
  const proc = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...withInheritedNodeOptions(env) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  let out = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  proc.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-100_000);
    check();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-100_000);
    check();
  });
  return {
    proc,
    line: (re) =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out.slice(-2000)}`)), 120_000).unref();
      }),
  };
}

async function get(url: string, gzip = false): Promise<{ ms: number; body: Buffer; status: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ms: performance.now() - started, body: Buffer.concat(chunks), status: res.statusCode ?? 0 }));
      })
      .on('error', reject);
  });
}

const post = (url: string, body: unknown) =>
  new Promise<void>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });

/** `global.gc`: the bench runs with --expose-gc (`npm run bench` passes it). */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the bench with node --expose-gc (npm run bench does)');
  gc();
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
};
/**
 * The lines of `text` that start with `prefix`, found with indexOf: an exposition of every tunnel
 * read is 52 MB, and splitting it into lines several times per scrape (every 500 ms) kept a core
 * of the measuring process busy, beside the exporter it measures.
 */
function* linesStarting(text: string, prefix: string): Generator<string> {
  const needle = `\n${prefix}`;
  let from = text.startsWith(prefix) ? 0 : text.indexOf(needle);
  if (from > 0) from++;
  while (from >= 0) {
    const end = text.indexOf('\n', from);
    yield text.slice(from, end < 0 ? text.length : end);
    if (end < 0) return;
    from = text.indexOf(needle, end);
    if (from >= 0) from++;
  }
}
const sampleValue = (text: string, name: string, labels = '') => {
  for (const line of linesStarting(text, `${name}${labels}`)) {
    if (labels === '' && line[name.length] !== ' ' && line[name.length] !== '{') continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
};
/** The most timestamps (ms) in any 300 s window. */
const busiest = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= 300_000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
};
const count = (text: string, prefix: string) => {
  let n = 0;
  for (const _ of linesStarting(text, prefix)) n++;
  return n;
};

interface RunResult {
  readySeconds: number;
  listRequestsPerPoll: number;
  listMinimum: number;
  requestsInRun: number;
  /** Configuration reads in the run, and the fewest that read each configuration once. */
  configurationReads: number;
  configurationMinimum: number;
  /** Routes and hostname routes list pages per routes poll (the fewest: 2, one page each). */
  routesPagesPerPoll: number;
  /** The most Cloudflare requests in any 300 s window of the run (the budget's window). */
  busiestWindow: number;
  responses429: number;
  statusChangeSeconds: number | undefined;
  /** From the start of the first list poll after the change (the schedule's wait taken out). */
  statusAfterListSeconds: number | undefined;
  comesUpSeconds: number | undefined;
  ageP50: number | undefined;
  ageP99: number | undefined;
  scrapeMissedTunnels: number;
  exposition: number;
  scrapeP50: number;
  scrapeP99: number;
  staticP50: number;
  gzipP50: number;
  gzipP99: number;
  staticGzipP50: number;
  rssMiB: number;
  /** RSS sampled at every scrape of the run after its first 30 s: median and max. */
  rssP50MiB: number;
  rssMaxMiB: number;
  heapMiB: number;
  /** The lowest heap used seen in each window (a sixth of the run, or 5 minutes in a soak). */
  heapFloorsMiB: number[];
  /** Tunnels with a connectors series (connections read) at each window's first scrape. */
  tunnelsReadPerWindow: number[];
  loopLagMaxMs: number | undefined;
}

/** Every child this process started, killed when it exits, whatever ended the run. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

type Fleet = { id: string; name: string; status: string; deleted: boolean; type: string; configured: boolean }[];

/** What the scrapes of one run saw. */
interface Observed {
  statusChangeSeconds: number | undefined;
  statusVisibleAtWall: number | undefined;
  changedAtWall: number;
  comesUpSeconds: number | undefined;
  missed: number;
  last: string;
  heapFloors: number[];
  tunnelsRead: number[];
  loopLagMax: number | undefined;
  rssSamples: number[];
}

/**
 * Scrapes every 500 ms for the whole run, as Prometheus does (gzip, always); at 20 s one tunnel
 * goes down and an inactive one comes up, and the scrapes time when each shows.
 */
async function observe(o: {
  url: string;
  simUrl: string;
  env: string;
  fleet: Fleet;
  seconds: number;
  started: number;
  rssNow: () => number;
}): Promise<Observed> {
  const { url, simUrl, env, fleet, seconds } = o;
  const elapsed = () => (performance.now() - o.started) / 1000;
  const down = fleet.find((t) => t.status === 'healthy' && t.type === 'cfd_tunnel');
  const up = fleet.find((t) => t.status === 'inactive' && t.type === 'cfd_tunnel');
  const seen: Observed = {
    statusChangeSeconds: undefined,
    statusVisibleAtWall: undefined,
    changedAtWall: 0,
    comesUpSeconds: undefined,
    missed: 0,
    last: '',
    heapFloors: [],
    tunnelsRead: [],
    // The exporter resets its event-loop statistics at each scrape: the max over all of them.
    loopLagMax: undefined,
    rssSamples: [],
  };
  const windows = seconds >= 1800 ? Math.ceil(seconds / 300) : 6;
  let changedAt: number | undefined;
  while (elapsed() < seconds) {
    if (changedAt === undefined && elapsed() >= 20) {
      await post(`${simUrl}/_simulator/tunnels/${down?.id}/status`, { status: 'down' });
      await post(`${simUrl}/_simulator/tunnels/${up?.id}/status`, { status: 'healthy' });
      changedAt = performance.now();
      seen.changedAtWall = Date.now();
    }
    const last = gunzipSync((await get(`${url}/metrics`, true)).body).toString();
    seen.last = last;
    if (count(last, 'cloudflare_tunnel_info{') < fleet.length) seen.missed++;
    const lag = sampleValue(last, 'nodejs_eventloop_lag_max_seconds');
    if (lag !== undefined && Number.isFinite(lag)) seen.loopLagMax = Math.max(seen.loopLagMax ?? 0, lag * 1000);
    if (elapsed() >= 30) seen.rssSamples.push(o.rssNow());
    const heap = sampleValue(last, 'nodejs_heap_size_used_bytes');
    const window = Math.min(windows - 1, Math.floor((elapsed() / seconds) * windows));
    if (heap !== undefined) seen.heapFloors[window] = Math.min(seen.heapFloors[window] ?? Infinity, heap / 1024 / 1024);
    seen.tunnelsRead[window] ??= count(last, 'cloudflare_tunnel_connectors{');
    if (changedAt !== undefined) {
      const prefix = `cloudflare_tunnel_status{account_id="${env}",tunnel_id="${down?.id}"`;
      if (seen.statusChangeSeconds === undefined && [...linesStarting(last, prefix)].find((l) => l.includes('status="down"'))?.endsWith(' 1')) {
        seen.statusChangeSeconds = (performance.now() - changedAt) / 1000;
        seen.statusVisibleAtWall = Date.now();
      }
      if (
        seen.comesUpSeconds === undefined &&
        [...linesStarting(last, `cloudflare_tunnel_connections{account_id="${env}",tunnel_id="${up?.id}"`)].some((l) => !l.endsWith(' 0'))
      ) {
        seen.comesUpSeconds = (performance.now() - changedAt) / 1000;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return seen;
}

/** Scrape timings, plain and gzip, against a static server holding the same bytes. */
async function timeScrapes(url: string, body: Buffer, tunnels: number) {
  const file = join(tmpdir(), `bench-exposition-${process.pid}.prom`);
  writeFileSync(file, body);
  const statik = child([fileURLToPath(import.meta.url), '--serve-static', file]);
  const staticUrl = `http://127.0.0.1:${(await statik.line(/^(\d+)$/m))[1]}/metrics`;
  const times = { plain: [] as number[], gzip: [] as number[], staticPlain: [] as number[], staticGzip: [] as number[] };
  const rounds = tunnels >= 30_000 ? 10 : 30;
  // This process's own garbage (an 18 MB body per plain scrape at 10,000 tunnels) is collected
  // before each timed request, or its collection lands in the next request's time: the exporter's
  // gzip scrape, timed right after the static server's plain one, paid for that body; and the
  // exporter and the static server take turns going first.
  const timed = async (target: string, gzip: boolean) => {
    collectGarbage();
    return (await get(target, gzip)).ms;
  };
  for (let i = 0; i < rounds; i++) {
    for (const gzip of [false, true]) {
      const exporterFirst = i % 2 === 0;
      const first = await timed(exporterFirst ? `${url}/metrics` : staticUrl, gzip);
      const second = await timed(exporterFirst ? staticUrl : `${url}/metrics`, gzip);
      times[gzip ? 'gzip' : 'plain'].push(exporterFirst ? first : second);
      times[gzip ? 'staticGzip' : 'staticPlain'].push(exporterFirst ? second : first);
    }
  }
  statik.proc.kill();
  return times;
}

type SimRequest = { endpoint?: string; status: number; query: Record<string, string>; at: number };

/** What the simulator saw of the exporter's requests. */
/** Routes and hostname routes pages per routes poll (a poll is a walk of both lists from page 1). */
function routesPagesPerPoll(requests: SimRequest[]): number {
  const pages = requests.filter((r) => (r.endpoint === 'routes.list' || r.endpoint === 'hostname_routes.list') && r.status === 200);
  const polls = pages.filter((r) => r.endpoint === 'routes.list' && r.query.page === '1').length;
  return polls ? pages.length / polls : 0;
}

function requestFigures(requests: SimRequest[], fleet: Fleet, seen: Observed) {
  const lists = requests.filter((r) => r.endpoint === 'tunnels.list' && r.status === 200);
  const pages = lists.filter((r) => r.query.page === '1').length;
  const firstListAfterChange = lists.find((r) => r.query.page === '1' && r.at >= seen.changedAtWall)?.at ?? NaN;
  return {
    listRequestsPerPoll: pages ? lists.length / pages : 0,
    listMinimum: Math.max(1, Math.ceil(fleet.length / 1000)),
    requestsInRun: requests.filter((r) => r.endpoint !== undefined).length,
    configurationReads: requests.filter((r) => r.endpoint === 'configurations.get').length,
    configurationMinimum: fleet.filter((t) => t.configured).length,
    routesPagesPerPoll: routesPagesPerPoll(requests),
    busiestWindow: busiest(requests.filter((r) => r.endpoint !== undefined).map((r) => r.at)),
    responses429: requests.filter((r) => r.status === 429).length,
    statusAfterListSeconds: seen.statusVisibleAtWall === undefined ? undefined : (seen.statusVisibleAtWall - firstListAfterChange) / 1000,
  };
}

async function runOnce(tunnels: number, seconds: number, schedule: string, exporterEnv: Record<string, string>): Promise<RunResult> {
  const sim = child([join(DIST, 'simulator/main.js'), '--port', '0', '--accounts', '1', '--tunnels', String(tunnels), '--step-seconds', '0', '--seed', '5']);
  const simUrl = (await sim.line(/simulator listening on (\S+)/))[1] as string;
  const env = (await sim.line(/CLOUDFLARE_ACCOUNT_IDS=(\S+)/))[1] as string;
  const state = JSON.parse((await get(`${simUrl}/_simulator/state`)).body.toString()) as { accounts: { tunnels: Fleet }[] };
  const fleet = state.accounts[0]?.tunnels.filter((t) => !t.deleted) ?? [];
  const started = performance.now();
  const exporter = child([join(DIST, 'cli.js'), '--web.listen-address=127.0.0.1:0'], {
    CLOUDFLARE_API_TOKEN: 'sim-cloudflare-token',
    CLOUDFLARE_ACCOUNT_IDS: env,
    CLOUDFLARE_API_BASE_URL: `${simUrl}/client/v4`,
    CLOUDFLARE_API_BUDGET: String(DEFAULT_BUDGET),
    TUNNELS_SCHEDULE: schedule,
    ...exporterEnv,
  });
  const url = (await exporter.line(/"url":"([^"]+)"/))[1] as string;
  try {
    while ((await get(`${url}/-/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
    const readySeconds = (performance.now() - started) / 1000;
    const rssNow = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${exporter.proc.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const seen = await observe({ url, simUrl, env, fleet, seconds, started, rssNow });
    const body = (await get(`${url}/metrics`)).body;
    const times = await timeScrapes(url, body, tunnels);
    const requests = JSON.parse((await get(`${simUrl}/_simulator/requests`)).body.toString()) as SimRequest[];
    const age = (p: string) => sampleValue(seen.last, 'cloudflare_tunnel_exporter_connections_age_seconds', `{scope="${env}",quantile="${p}"}`);
    return {
      readySeconds,
      ...requestFigures(requests, fleet, seen),
      statusChangeSeconds: seen.statusChangeSeconds,
      comesUpSeconds: seen.comesUpSeconds,
      ageP50: age('0.5'),
      ageP99: age('0.99'),
      scrapeMissedTunnels: seen.missed,
      exposition: body.length,
      scrapeP50: quantile(times.plain, 0.5),
      scrapeP99: quantile(times.plain, 0.99),
      staticP50: quantile(times.staticPlain, 0.5),
      gzipP50: quantile(times.gzip, 0.5),
      gzipP99: quantile(times.gzip, 0.99),
      staticGzipP50: quantile(times.staticGzip, 0.5),
      rssMiB: rssNow(),
      rssP50MiB: quantile(seen.rssSamples, 0.5),
      rssMaxMiB: quantile(seen.rssSamples, 1),
      heapMiB: (sampleValue(body.toString(), 'nodejs_heap_size_used_bytes') ?? 0) / 1024 / 1024,
      heapFloorsMiB: seen.heapFloors,
      tunnelsReadPerWindow: seen.tunnelsRead,
      loopLagMaxMs: seen.loopLagMax,
    };
  } finally {
    exporter.proc.kill('SIGTERM');
    sim.proc.kill('SIGTERM');
  }
}

/** One shard of a sharded run, as it saw itself. */
interface ShardResult {
  shard: number;
  accounts: number;
  tunnels: number;
  statusChangeSeconds: number | undefined;
  rssP50MiB: number;
  scrapeRatio: number;
  gzipRatio: number;
  gzipP50: number;
}

/**
 * `shards` exporters on one token (TOTAL_SHARDS, the default budget divided among them) against one
 * simulator of `accounts` accounts of `perAccount` tunnels: what the token as a whole sends in any
 * 300 s window, and per shard its status freshness, RSS and scrape cost.
 */
async function runSharded(shards: number, accounts: number, perAccount: number, seconds: number, exporterEnv: Record<string, string>) {
  const sim = child([
    join(DIST, 'simulator/main.js'),
    '--port',
    '0',
    '--accounts',
    String(accounts),
    '--tunnels',
    String(perAccount),
    '--step-seconds',
    '0',
    '--seed',
    '5',
  ]);
  const simUrl = (await sim.line(/simulator listening on (\S+)/))[1] as string;
  const ids = (await sim.line(/CLOUDFLARE_ACCOUNT_IDS=(\S+)/))[1] as string;
  const state = JSON.parse((await get(`${simUrl}/_simulator/state`)).body.toString()) as { accounts: { id: string; tunnels: Fleet }[] };
  const started = performance.now();
  const exporters = Array.from({ length: shards }, (_, shard) =>
    child([join(DIST, 'cli.js'), '--web.listen-address=127.0.0.1:0'], {
      CLOUDFLARE_API_TOKEN: 'sim-cloudflare-token',
      CLOUDFLARE_ACCOUNT_IDS: ids,
      CLOUDFLARE_API_BASE_URL: `${simUrl}/client/v4`,
      TOTAL_SHARDS: String(shards),
      SHARD: String(shard),
      ...exporterEnv,
    }),
  );
  try {
    const urls = await Promise.all(exporters.map(async (e) => (await e.line(/"url":"([^"]+)"/))[1] as string));
    for (const url of urls) while ((await get(`${url}/-/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
    const owned = await Promise.all(
      urls.map(async (url) =>
        [...linesStarting((await get(`${url}/metrics`)).body.toString(), 'cloudflare_tunnel_exporter_shard_owns{kind="account"')].map(
          (l) => /scope="([^"]+)"/.exec(l)?.[1] as string,
        ),
      ),
    );
    const observed = await Promise.all(
      urls.map((url, shard) => {
        const mine = state.accounts.filter((a) => owned[shard]?.includes(a.id));
        const fleet = mine.flatMap((a) => a.tunnels.filter((t) => !t.deleted));
        const rssNow = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${exporters[shard]?.proc.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
        return observe({ url, simUrl, env: mine[0]?.id ?? '', fleet, seconds, started, rssNow }).then((seen) => ({ seen, fleet, mine }));
      }),
    );
    const results: ShardResult[] = [];
    for (const [shard, url] of urls.entries()) {
      const { seen, fleet, mine } = observed[shard] as (typeof observed)[number];
      const times = await timeScrapes(url, (await get(`${url}/metrics`)).body, fleet.length);
      results.push({
        shard,
        accounts: mine.length,
        tunnels: fleet.length,
        statusChangeSeconds: seen.statusChangeSeconds,
        rssP50MiB: quantile(seen.rssSamples, 0.5),
        scrapeRatio: quantile(times.plain, 0.5) / quantile(times.staticPlain, 0.5),
        gzipRatio: quantile(times.gzip, 0.5) / quantile(times.staticGzip, 0.5),
        gzipP50: quantile(times.gzip, 0.5),
      });
    }
    const requests = JSON.parse((await get(`${simUrl}/_simulator/requests`)).body.toString()) as SimRequest[];
    const api = requests.filter((r) => r.endpoint !== undefined);
    return { results, requests: api.length, busiestWindow: busiest(api.map((r) => r.at)), responses429: requests.filter((r) => r.status === 429).length };
  } finally {
    for (const e of exporters) e.proc.kill('SIGTERM');
    sim.proc.kill('SIGTERM');
  }
}

function printSharded(run: { shards: number; accounts: number; perAccount: number; seconds: number }, out: Awaited<ReturnType<typeof runSharded>>): void {
  const fmt = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
  process.stdout.write(
    `\n${run.shards} shards on one token, ${run.accounts} accounts x ${run.perAccount} tunnels, ${run.seconds} s, Node ${process.version}: ` +
      `${out.requests} Cloudflare requests in the run, busiest 300 s window ${out.busiestWindow} (budget ${DEFAULT_BUDGET} for the token, ${Math.floor(DEFAULT_BUDGET / run.shards)} a shard), ${out.responses429} 429s\n`,
  );
  console.table(
    Object.fromEntries(
      out.results.map((r) => [
        `shard ${r.shard}`,
        {
          accounts: r.accounts,
          tunnels: r.tunnels,
          'status change visible after (s)': fmt(r.statusChangeSeconds),
          'RSS p50 (MiB)': fmt(r.rssP50MiB, 0),
          'gzip scrape p50 (ms)': fmt(r.gzipP50, 1),
          'gzip / static gzip': fmt(r.gzipRatio),
          'plain / static': fmt(r.scrapeRatio),
        },
      ]),
    ),
  );
}

/** One size's table: min / median / max of each figure over the runs, and the floor for connections age. */
function printReport(
  run: { size: number; schedule: string; runs: number; seconds: number; budget: number; exporterEnv: Record<string, string> },
  results: RunResult[],
): void {
  const { size, schedule, runs, seconds, budget, exporterEnv } = run;
  const row = (key: keyof RunResult, digits = 2) => {
    const vals = results.map((r) => r[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (vals.length === 0) return 'n/a';
    const sorted = [...vals].sort((a, b) => a - b);
    const fmt = (v: number) => v.toFixed(digits);
    return `${fmt(sorted[0] as number)} / ${fmt(quantile(sorted, 0.5))} / ${fmt(sorted.at(-1) as number)}${vals.length < results.length ? ` (${results.length - vals.length} n/a)` : ''}`;
  };
  const ratio = (a: keyof RunResult, b: keyof RunResult) => {
    const vals = results.map((r) => (r[a] as number) / (r[b] as number)).sort((x, y) => x - y);
    return `${(vals[0] as number).toFixed(2)} / ${quantile(vals, 0.5).toFixed(2)} / ${(vals.at(-1) as number).toFixed(2)}`;
  };
  const needing = results[0] ? Math.round(size * (7 / 8)) : 0;
  // List pages per poll as measured (WARP connectors count too), every schedule; one Gateway poll.
  const share = budget - (results[0]?.listMinimum ?? Math.ceil(size / 1000)) * (300 / (size <= 1000 ? 10 : 30)) - 1;
  const childEnv = withInheritedNodeOptions(exporterEnv);
  const envText =
    Object.keys(childEnv).length > 0
      ? `, exporter env ${Object.entries(childEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : '';
  process.stdout.write(
    `\n${size} tunnels, budget ${budget}/5m, schedule ${schedule}, ${runs} runs of ${seconds} s${envText}, Node ${process.version} (min / median / max):\n`,
  );
  console.table({
    'ready (s)': row('readySeconds'),
    'list requests per poll (minimum)': `${row('listRequestsPerPoll', 1)} (${results[0]?.listMinimum})`,
    [`requests in ${seconds} s (budget ${budget} per 300 s)`]: row('requestsInRun', 0),
    '  configuration reads (minimum: each once)': `${row('configurationReads', 0)} (${results[0]?.configurationMinimum})`,
    '  routes pages per routes poll (minimum 2)': row('routesPagesPerPoll', 1),
    'busiest 300 s window (requests)': row('busiestWindow', 0),
    '429 responses': row('responses429', 0),
    'status change visible after (s)': row('statusChangeSeconds'),
    '  of which after its list poll began (s)': row('statusAfterListSeconds'),
    'tunnel up: per-colo connections after (s)': row('comesUpSeconds'),
    'connections age p50 at end (s)': row('ageP50', 0),
    'connections age p99 at end (s)': row('ageP99', 0),
    'scrapes missing tunnel series': row('scrapeMissedTunnels', 0),
    'exposition (bytes per tunnel)': `${row('exposition', 0)} (${((results[0]?.exposition ?? 0) / size).toFixed(0)} B/tunnel)`,
    'scrape p50 (ms)': row('scrapeP50', 1),
    'scrape p99 (ms)': row('scrapeP99', 1),
    'scrape p50 / static p50': ratio('scrapeP50', 'staticP50'),
    'gzip scrape p50 (ms)': row('gzipP50', 1),
    'gzip scrape p50 / static gzip p50': ratio('gzipP50', 'staticGzipP50'),
    'exporter RSS at the end (MiB)': row('rssMiB', 0),
    'exporter RSS p50 / max over the run after 30 s (MiB)': `${row('rssP50MiB', 0)}; max ${row('rssMaxMiB', 0)}`,
    'exporter heap used (MiB)': row('heapMiB', 0),
    [`heap floor per ${seconds >= 1800 ? '5 minutes' : 'sixth of the run'} (MiB)`]: results
      .map((r) => r.heapFloorsMiB.map((v) => v.toFixed(0)).join(' '))
      .join(' | '),
    '  tunnels with a connectors series by then': results.map((r) => r.tunnelsReadPerWindow.join(' ')).join(' | '),
    'event-loop lag max (ms)': row('loopLagMaxMs', 1),
  });
  const lists = budget - share;
  process.stdout.write(
    share > 0
      ? `Floor for connections age: about ${needing} tunnels can have connections; the refresh gets about ${share} of the ${budget} requests per 5 minutes, so each is read every ~${((needing / share) * 300).toFixed(0)} s at best (${((needing / share) * 5).toFixed(0)} min).\n`
      : `Floor for connections age: none. The list polls alone need ${lists} of the ${budget} requests per 5 minutes, so the list polls stretch past their schedule and no connections read gets a slot; raise CLOUDFLARE_API_budget or lengthen TUNNELS_SCHEDULE.\n`,
  );
}

async function main() {
  collectGarbage(); // fails at once without --expose-gc
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1000,10000,30000' },
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '60' },
      // Extra environment for the exporter, e.g. --env MALLOC_ARENA_MAX=2 (repeatable).
      env: { type: 'string', multiple: true, default: [] },
      'no-image-env': { type: 'boolean', default: false },
      // A sharded run instead: SHARDS exporters on one token, e.g. --sharded 3 --accounts 30 (1,000 tunnels each).
      sharded: { type: 'string' },
      accounts: { type: 'string', default: '30' },
    },
  });
  const exporterEnv = {
    ...(values['no-image-env'] ? {} : imageEnv()),
    ...Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  if (values.sharded) {
    const run = { shards: Number(values.sharded), accounts: Number(values.accounts), perAccount: 1000, seconds: Number(values.seconds) };
    printSharded(run, await runSharded(run.shards, run.accounts, run.perAccount, run.seconds, exporterEnv));
    return;
  }
  const BUDGET = Number(exporterEnv.CLOUDFLARE_API_BUDGET ?? DEFAULT_BUDGET);
  const sizes = values.sizes.split(',').map(Number);
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  for (const size of sizes) {
    // The goals' schedules: every 10 s at 1,000 tunnels, the default (30 s) above.
    const schedule = size <= 1000 ? '*/10 * * * * *' : '*/30 * * * * *';
    const results: RunResult[] = [];
    for (let i = 0; i < runs; i++) results.push(await runOnce(size, seconds, schedule, exporterEnv));
    printReport({ size, schedule, runs, seconds, budget: BUDGET, exporterEnv }, results);
  }
}

// A static server holding one file's bytes, plain and gzipped: the baseline a scrape is compared with.
if (process.argv[2] === '--serve-static') {
  const plain = readFileSync(process.argv[3] as string);
  const zipped = gzipSync(plain);
  const server = http.createServer((req, res) => {
    const gz = /gzip/.test(req.headers['accept-encoding'] ?? '');
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4',
      'content-length': gz ? zipped.length : plain.length,
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(gz ? zipped : plain);
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
} else {
  await main();
}
