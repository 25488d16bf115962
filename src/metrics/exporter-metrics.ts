// The exporter's own prom-client registry: every metric of docs/metrics.md with its HELP text, the domain
// series rendered ahead from the snapshot (./render.ts), and the live self-metrics (API requests,
// rate limit, remediation). Node's process metrics come from ./process.ts, after the self-metrics.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { steadyNow } from '../clock.js';
import type { PollIntervals, RemediationCounters } from '../domain/types.js';
import type { Snapshot } from '../snapshot/store.js';
import { ANSWER_LIMITS, CUT_ITEMS, type OnCut } from '../sources/answer.js';
import type { ApiName } from '../transport/errors.js';
import type { ApiObserver } from '../transport/http.js';
import { REVISION, VERSION } from '../version.js';
import { snapshotFamilies } from './families.js';
import { crc32Combine, GZIP_HEADER, gzipTrailer, inflateSegmentSync, type Segment, storedSegment } from './gzip-stream.js';
import { createProcessMetrics } from './process.js';
import { createRenderer, type Rendered, sourceCount } from './snapshot-exposition.js';

/** Text inflated between two turns of the event loop: about a millisecond's work. */
const INFLATED_PER_TURN = 1024 * 1024;

/**
 * The text of segments, in order, for a client that does not take gzip (Prometheus always does):
 * only the compressed text is kept (./render.ts), so a plain scrape inflates it as it goes out
 * instead of holding the whole text. On the event loop, giving it back after each megabyte or
 * so: in a synthetic 48 MB exposition the thread pool took 64-89 ms per scrape where this took
 * 47-60 ms (zlib's set-up and the hand-offs cost more than the inflating).
 */
async function* inflate(segments: Segment[]): AsyncGenerator<Buffer> {
  let sinceTurn = 0;
  for (const segment of segments) {
    if (segment.length === 0) continue;
    yield inflateSegmentSync(segment);
    sinceTurn += segment.length;
    if (sinceTurn >= INFLATED_PER_TURN) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
}

export interface ExporterMetrics {
  /** The exporter's live self-metrics (API requests, rate limit, remediation, build info). */
  registry: Registry;
  observer: ApiObserver;
  remediation: RemediationCounters;
  /** Counts what an answer had cut to the limits (pollers/bounds.ts). */
  answerCut: OnCut;
  /** Feeds the budget and refresh-queue self-metrics (Cloudflare). */
  observeBudget(source: BudgetSource): void;
  /** The exporter's own exposition: the snapshot's families, then the self-metrics. */
  renderOwn(): Promise<string>;
  /** renderOwn() followed by the process metrics, as one text. */
  render(): Promise<string>;
  /** What /metrics serves (see ScrapeBody). */
  scrape(gzipped: boolean): Promise<ScrapeBody>;
  contentType: string;
  /** Stops the event-loop sampling and the GC observer (the process metrics stay readable). */
  close(): void;
}

/**
 * A /metrics body in two parts. `prerendered` is the last complete render of the domain part (never
 * waiting for a render once there is one): gzipped, the gzip header and its deflate segments, ready
 * to write at once; plain, its text as it is inflated. `length` is its size in bytes. `live()`
 * renders the self-metrics and process metrics; gzipped, it also ends the gzip stream. Gzipped, the
 * whole body is one gzip member (./gzip-stream.ts).
 */
export interface ScrapeBody {
  prerendered: Buffer[] | AsyncIterable<Buffer>;
  length: number;
  live: () => Promise<Buffer>;
}

export interface BudgetSource {
  budget: number;
  /** Requests sent in the last 5 minutes (the sliding window). */
  used: () => number;
  /** Requests per 5 minutes the schedules need for the fleet last listed. */
  needed: () => number;
  /** Of those, what the list and Gateway polls need (they come first). */
  scheduled: () => number;
  /** Tunnels waiting for a connections read, per account. */
  queued: () => ReadonlyMap<string, number>;
}

/** Percentiles of the connections data age over an account's tunnels (a `quantile` label is for summaries). */
const AGE_PERCENTILES = [50, 90, 99, 100] as const;

export interface MetricsOptions {
  snapshot: () => Snapshot;
  /** Called back on every snapshot change, so the domain part is rendered ahead of scrapes. */
  subscribe?: (listener: () => void) => void;
  staleDataMaxAgeMs: number;
  intervals: PollIntervals;
  now?: () => number;
}

export function createExporterMetrics(options: MetricsOptions): ExporterMetrics {
  const now = options.now ?? steadyNow;
  const registry = new Registry();
  // prom-client's default metrics, read and formatted without its registry (./process.ts).
  const processMetrics = createProcessMetrics();

  // The domain part, rendered in the background after each snapshot change (see ./render.ts).
  const render = createRenderer({
    families: snapshotFamilies(options.intervals),
    snapshot: options.snapshot,
    staleDataMaxAgeMs: options.staleDataMaxAgeMs,
    now,
  });
  let latest: Rendered | undefined;
  let rendering: Promise<Rendered> | undefined;
  let scheduled: { timer: ReturnType<typeof setTimeout>; at: number } | undefined;
  const outdated = () => !latest || latest.version !== options.snapshot().version || now() >= latest.nextExpiry;
  const renderNow = (): Promise<Rendered> => {
    rendering ??= render().then(
      (r) => {
        latest = r;
        rendering = undefined;
        schedule();
        return r;
      },
      (err: unknown) => {
        rendering = undefined;
        throw err;
      },
    );
    return rendering;
  };
  /** A render soon when the snapshot changed or a series expires; spaced by twice the last render's cost. */
  function schedule(): void {
    // A render in progress schedules the next one when it ends.
    if (rendering) return;
    const changed = !latest || latest.version !== options.snapshot().version;
    const wait = changed ? Math.max(50, 2 * (latest?.durationMs ?? 0)) : (latest?.nextExpiry ?? Infinity) - now();
    if (!Number.isFinite(wait)) return;
    const at = Date.now() + Math.max(0, wait);
    // An earlier render replaces a later one (a change arriving while an expiry render waits).
    if (scheduled && scheduled.at <= at) return;
    if (scheduled) clearTimeout(scheduled.timer);
    const timer = setTimeout(
      () => {
        scheduled = undefined;
        void renderNow().catch(() => undefined);
      },
      Math.max(0, Math.min(wait, 2 ** 31 - 1)),
    );
    timer.unref();
    scheduled = { timer, at };
  }
  options.subscribe?.(() => schedule());

  /** Up to date with the snapshot (tests, --config tools): renders now when outdated. */
  const current = async (): Promise<Rendered> => {
    for (let i = 0; i < 3 && outdated(); i++) await renderNow();
    return latest ?? renderNow();
  };

  new Gauge({
    name: 'cloudflare_tunnel_exporter_build_info',
    help: 'Exporter build information; always 1.',
    labelNames: ['version', 'revision', 'nodejs_version'],
    registers: [registry],
  }).set({ version: VERSION, revision: REVISION, nodejs_version: process.version }, 1);

  const requests = new Counter({
    name: 'cloudflare_tunnel_exporter_api_requests_total',
    help: 'API requests sent, by API, operation and HTTP status code ("error" when no response arrived).',
    labelNames: ['api', 'operation', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cloudflare_tunnel_exporter_api_request_duration_seconds',
    help: 'API request latency in seconds, by API and operation.',
    labelNames: ['api', 'operation'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const rateLimitRemaining = new Gauge({
    name: 'cloudflare_tunnel_exporter_api_ratelimit_remaining',
    help: 'Requests remaining in the current rate-limit window, from the last Ratelimit response header (r=).',
    labelNames: ['api'],
    registers: [registry],
  });
  const actions = new Counter({
    name: 'cloudflare_tunnel_exporter_remediation_actions_total',
    help: 'Remediation actions decided, by action and mode (dry_run decides without sending).',
    labelNames: ['action', 'mode'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'cloudflare_tunnel_exporter_remediation_action_failures_total',
    help: 'Live remediation actions that failed.',
    labelNames: ['action'],
    registers: [registry],
  });
  const skipped = new Counter({
    name: 'cloudflare_tunnel_exporter_remediation_skipped_total',
    help: 'Remediation candidates not acted on, by action and reason.',
    labelNames: ['action', 'reason'],
    registers: [registry],
  });

  const dnsChangeRequired = new Gauge({
    name: 'posthog_proxy_record_dns_change_required',
    help: "A proxy record the exporter recreated (PROXY_RECORD_RETRY_METHOD=recreate) came back with a new target_cname: point the domain's CNAME at it. 1 until the record is seen valid.",
    labelNames: ['organization_id', 'domain', 'target_cname'],
    registers: [registry],
  });

  const recreatePending = new Gauge({
    name: 'posthog_proxy_record_recreate_pending',
    help: 'A proxy record the exporter deleted to recreate it (PROXY_RECORD_RETRY_METHOD=recreate) whose domain has no record yet: 1 while its journal entry is open. The exporter keeps trying with back-off; the domain serves nothing meanwhile.',
    labelNames: ['organization_id', 'domain'],
    registers: [registry],
  });
  const answerCuts = new Counter({
    name: 'cloudflare_tunnel_exporter_answer_cuts_total',
    help: `What API answers held past the limits one tunnel or record may contribute, cut before it reached the metrics: connectors past ${ANSWER_LIMITS.connectorsPerTunnel} per tunnel, connections past ${ANSWER_LIMITS.connectionsPerConnector} per connector, colos past ${ANSWER_LIMITS.colosPerTunnel} per tunnel (counted as colo="other"), label values past ${ANSWER_LIMITS.labelValueLength} characters.`,
    labelNames: ['item'],
    registers: [registry],
  });
  for (const item of CUT_ITEMS) answerCuts.inc({ item }, 0);
  const stateFileCorrupt = new Gauge({
    name: 'cloudflare_tunnel_exporter_remediation_state_file_corrupt',
    help: 'Present (1) when the remediation state file (REMEDIATION_STATE_FILE, label path) was corrupt at start-up: it was moved aside and what parsed was salvaged; a recreate journaled in the lost part may need finishing by hand. Stays until a restart.',
    labelNames: ['path'],
    registers: [registry],
  });

  let budgetSource: BudgetSource | undefined;
  /** Per account, the read times of its tunnels' connections, oldest first; sorted once per snapshot. */
  let readTimesCache: { version: number; byScope: Map<string, Float64Array> } | undefined;
  const readTimes = (): Map<string, Float64Array> => {
    const snapshot = options.snapshot();
    if (readTimesCache?.version === snapshot.version) return readTimesCache.byScope;
    const byScope = new Map<string, Float64Array>();
    for (const [scope, entry] of snapshot.connections) {
      // A typed array sorts numerically without a comparator: several times faster at 10,000.
      const times = new Float64Array(entry.data?.size ?? 0);
      let n = 0;
      for (const c of entry.data?.values() ?? []) if (c.fetched) times[n++] = c.fetchedAt;
      if (n > 0) byScope.set(scope, times.subarray(0, n).sort());
    }
    readTimesCache = { version: snapshot.version, byScope };
    return byScope;
  };
  new Gauge({
    name: 'cloudflare_tunnel_exporter_api_budget_per_5m',
    help: 'Requests per 5 minutes this exporter may send (CLOUDFLARE_API_BUDGET); the exporter never sends more in any 5-minute window.',
    labelNames: ['api'],
    registers: [registry],
    collect() {
      if (budgetSource) this.set({ api: 'cloudflare' }, budgetSource.budget);
    },
  });
  new Gauge({
    name: 'cloudflare_tunnel_exporter_api_requests_last_5m',
    help: 'Requests sent in the last 5 minutes (the sliding window the budget applies to).',
    labelNames: ['api'],
    registers: [registry],
    collect() {
      if (budgetSource) this.set({ api: 'cloudflare' }, budgetSource.used());
    },
  });
  new Gauge({
    name: 'cloudflare_tunnel_exporter_api_requests_needed_per_5m',
    help: 'Requests per 5 minutes the schedules need for the fleet last listed: list pages and Gateway, plus one connections read per tunnel that can have connections every tunnels interval. Above the budget, connections are refreshed less often than every interval.',
    labelNames: ['api'],
    registers: [registry],
    collect() {
      if (budgetSource) this.set({ api: 'cloudflare' }, budgetSource.needed());
    },
  });
  new Gauge({
    name: 'cloudflare_tunnel_exporter_api_requests_scheduled_per_5m',
    help: 'Of the requests needed, those of the polls that come first: tunnel list pages (1000 tunnels a page) every tunnels interval, and Gateway. Above the budget, the list polls stretch beyond TUNNELS_SCHEDULE and no connections are read.',
    labelNames: ['api'],
    registers: [registry],
    collect() {
      if (budgetSource) this.set({ api: 'cloudflare' }, budgetSource.scheduled());
    },
  });
  new Gauge({
    name: 'cloudflare_tunnel_exporter_connections_queue',
    help: 'Tunnels of the account whose connections read is due and waiting for the budget.',
    labelNames: ['scope'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [scope, n] of budgetSource?.queued() ?? []) this.set({ scope }, n);
    },
  });
  new Gauge({
    name: 'cloudflare_tunnel_exporter_connections_age_seconds',
    help: "How long ago the connectors of the account's tunnels were last read, as percentiles over those tunnels (100 is the oldest).",
    labelNames: ['scope', 'percentile'],
    registers: [registry],
    collect() {
      this.reset();
      const t = now();
      for (const [scope, readAt] of readTimes()) {
        // The p-th percentile of age is now minus the (100 - p)-th percentile of read time.
        for (const p of AGE_PERCENTILES) {
          const oldestFirst = readAt[Math.min(readAt.length - 1, Math.max(0, readAt.length - Math.ceil((p / 100) * readAt.length)))] as number;
          this.set({ scope, percentile: String(p) }, (t - oldestFirst) / 1000);
        }
      }
    },
  });

  const renderOwn = async () => {
    const parts: Buffer[] = [];
    for await (const part of inflate((await current()).segments)) parts.push(part);
    return `${Buffer.concat(parts).toString('utf8')}\n${await registry.metrics()}`;
  };

  return {
    registry,
    contentType: registry.contentType,
    observer: {
      onRequest(api: ApiName, operation: string, code: string, seconds: number) {
        requests.inc({ api, operation, code });
        duration.observe({ api, operation }, seconds);
      },
      onRateLimitRemaining(api: ApiName, remaining: number) {
        rateLimitRemaining.set({ api }, remaining);
      },
    },
    remediation: {
      enable(action, mode, skipReasons) {
        actions.inc({ action, mode }, 0);
        failures.inc({ action }, 0);
        for (const reason of skipReasons) skipped.inc({ action, reason }, 0);
      },
      action: (action, mode) => actions.inc({ action, mode }),
      failure: (action) => failures.inc({ action }),
      skipped: (action, reason) => skipped.inc({ action, reason }),
      dnsChangesRequired(changes) {
        dnsChangeRequired.reset();
        for (const c of changes) dnsChangeRequired.set({ organization_id: c.organizationId, domain: c.domain, target_cname: c.targetCname }, 1);
      },
      recreatesPending(entries) {
        recreatePending.reset();
        for (const e of entries) recreatePending.set({ organization_id: e.organizationId, domain: e.domain }, 1);
      },
      stateFileCorrupt: (path) => stateFileCorrupt.set({ path }, 1),
    },
    answerCut: (item, count) => answerCuts.inc({ item }, count),
    observeBudget(source) {
      budgetSource = source;
    },
    close: () => processMetrics.close(),
    renderOwn,
    async render() {
      return `${await renderOwn()}\n${processMetrics.render()}`;
    },
    async scrape(gzipped) {
      // The last complete render, at once; a newer one is on its way when the snapshot moved on.
      // A render that lacks a source the snapshot now has (the tunnel list arriving after the first
      // render) is not served: that scrape waits for a current one.
      const domain = latest && latest.sources >= sourceCount(options.snapshot()) ? latest : await current();
      if (outdated()) schedule();
      // The domain part ends with a newline; a blank line before the self-metrics.
      const live = async () => {
        const proc = processMetrics.render();
        const self = await registry.metrics();
        const own = Buffer.from(`\n${self}\n${proc}`);
        if (!gzipped) return own;
        // A few kilobytes: stored as they are, since setting up a compressor costs more than they
        // would save. Then the end of the one gzip stream: its CRC is the domain part's and theirs.
        const stored = storedSegment(own);
        return Buffer.concat([stored.deflated, gzipTrailer(crc32Combine(domain.crc, stored.crc, stored.length), domain.length + stored.length)]);
      };
      if (!gzipped) return { prerendered: inflate(domain.segments), length: domain.length, live };
      const prerendered = [GZIP_HEADER, ...domain.segments.map((s) => s.deflated)];
      let length = 0;
      for (const part of prerendered) length += part.length;
      return { prerendered, length, live };
    },
  };
}
