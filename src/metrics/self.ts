// The exporter's own metrics, live in prom-client: build info, API requests and latency, the rate
// limit and the budget, the connections queue and data age, remediation decisions, answer cuts.
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import type { RemediationCounters } from '../domain/types.js';
import { everySourceFailing, type Snapshot } from '../snapshot/store.js';
import { CUT_ITEMS, type OnCut } from '../sources/answer.js';
import type { ApiName } from '../transport/errors.js';
import type { ApiObserver } from '../transport/http.js';
import { REVISION, VERSION } from '../version.js';

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

export interface SelfMetrics {
  registry: Registry;
  observer: ApiObserver;
  remediation: RemediationCounters;
  /** Counts what an answer had cut to the limits (sources/answer.ts). */
  answerCut: OnCut;
  /** Feeds the budget and refresh-queue self-metrics (Cloudflare). */
  observeBudget(source: BudgetSource): void;
  /** Which shard this process is and what it owns (set once at start). */
  observeShard(shard: ShardSource): void;
}

export interface ShardSource {
  shard: number;
  total: number;
  accounts: readonly string[];
  organizations: readonly string[];
}

/** The shard this process is, and the accounts and organizations it owns (and no other shard does). */
function shardMetrics(registry: Registry): (source: ShardSource) => void {
  const shard = new Gauge({
    name: 'cloudflare_tunnel_exporter_shard',
    help: 'This process is shard `shard` of `total` (TOTAL_SHARDS); always 1. Accounts and organizations are split among the shards by rendezvous hashing of their ids.',
    labelNames: ['shard', 'total'],
    registers: [registry],
  });
  const owns = new Gauge({
    name: 'cloudflare_tunnel_exporter_shard_owns',
    help: 'An account (kind="account") or organization (kind="organization") this shard polls, exports and remediates, and no other shard does; always 1.',
    labelNames: ['kind', 'scope'],
    registers: [registry],
  });
  return (source) => {
    shard.reset();
    owns.reset();
    shard.set({ shard: String(source.shard), total: String(source.total) }, 1);
    for (const scope of source.accounts) owns.set({ kind: 'account', scope }, 1);
    for (const scope of source.organizations) owns.set({ kind: 'organization', scope }, 1);
  };
}

function apiMetrics(registry: Registry): ApiObserver {
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
  return {
    onRequest(api: ApiName, operation: string, code: string, seconds: number) {
      requests.inc({ api, operation, code });
      duration.observe({ api, operation }, seconds);
    },
    onRateLimitRemaining(api: ApiName, remaining: number) {
      rateLimitRemaining.set({ api }, remaining);
    },
  };
}

function remediationMetrics(registry: Registry): Omit<RemediationCounters, 'stateFileCorrupt'> {
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
  return {
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
  };
}

function stateFileMetric(registry: Registry): RemediationCounters['stateFileCorrupt'] {
  const stateFileCorrupt = new Gauge({
    name: 'cloudflare_tunnel_exporter_remediation_state_file_corrupt',
    help: 'Present (1) when the remediation state file (REMEDIATION_STATE_FILE, label path) was corrupt at start-up: it was moved aside and what parsed was salvaged; a recreate journaled in the lost part may need finishing by hand. Stays until a restart.',
    labelNames: ['path'],
    registers: [registry],
  });

  return (path) => stateFileCorrupt.set({ path }, 1);
}

function answerCutMetrics(registry: Registry): OnCut {
  const answerCuts = new Counter({
    name: 'cloudflare_tunnel_exporter_answer_cuts_total',
    help: 'Items API answers held past what one tunnel or record may contribute, cut before the metrics, by item (connectors, connections, colos, label_values; docs/metrics.md has the limits).',
    labelNames: ['item'],
    registers: [registry],
  });
  for (const item of CUT_ITEMS) answerCuts.inc({ item }, 0);
  return (item, count) => answerCuts.inc({ item }, count);
}

/** Per account, the read times of its tunnels' connections, oldest first, and their total; once per snapshot. */
function connectionReadTimes(snapshot: () => Snapshot): () => Map<string, ReadTimes> {
  let readTimesCache: { version: number; byScope: Map<string, ReadTimes> } | undefined;
  return (): Map<string, ReadTimes> => {
    const current = snapshot();
    if (readTimesCache?.version === current.version) return readTimesCache.byScope;
    const byScope = new Map<string, ReadTimes>();
    for (const [scope, entry] of current.connections) {
      // A typed array sorts numerically without a comparator.
      const times = new Float64Array(entry.data?.size ?? 0);
      let n = 0;
      let first = 0;
      let sinceFirst = 0;
      for (const c of entry.data?.values() ?? []) {
        if (!c.fetched) continue;
        if (n === 0) first = c.fetchedAt;
        times[n++] = c.fetchedAt;
        sinceFirst += c.fetchedAt - first;
      }
      if (n > 0) byScope.set(scope, { oldestFirst: times.subarray(0, n).sort(), first, sinceFirst });
    }
    readTimesCache = { version: current.version, byScope };
    return byScope;
  };
}

interface ReadTimes {
  oldestFirst: Float64Array;
  /**
   * The first read time seen and the sum of each one's distance from it (small numbers: a sum of
   * 10,000 raw timestamps would pass 2^53 and lose milliseconds). The ages' sum is
   * count × (now − first) − sinceFirst.
   */
  first: number;
  sinceFirst: number;
}

const AGE = 'cloudflare_tunnel_exporter_connections_age_seconds';

/**
 * How old each account's connections data is, over its tunnels, as a summary: quantiles 0.5, 0.9,
 * 0.99 and 1 (nearest rank, exact: not an estimate), the sum of the ages and the number of tunnels
 * read. prom-client's Summary estimates quantiles from observations; these are computed whole at
 * each scrape, so this is a metric of its own shape for the registry. The same quantiles under the
 * label `percentile` (50 to 100), as before 0.2.0, stay for one release.
 */
function connectionsAge(readTimes: () => Map<string, ReadTimes>, now: () => number): Metric {
  const help =
    "How long ago the connectors of the account's tunnels were last read, over those tunnels: quantile 0.5, 0.9, 0.99 and 1 (the oldest). The percentile label (50 to 100) is deprecated and goes in 0.3.0.";
  const values = () => {
    const t = now();
    const out: { labels: Record<string, string>; value: number; metricName?: string }[] = [];
    for (const [scope, { oldestFirst: readAt, first, sinceFirst }] of readTimes()) {
      const sum = (readAt.length * (t - first) - sinceFirst) / 1000;
      // The p-th percentile of age is now minus the (100 - p)-th percentile of read time.
      const ages = AGE_PERCENTILES.map(
        (p) => (t - (readAt[Math.min(readAt.length - 1, Math.max(0, readAt.length - Math.ceil((p / 100) * readAt.length)))] as number)) / 1000,
      );
      for (const [i, p] of AGE_PERCENTILES.entries()) out.push({ labels: { scope, quantile: String(p / 100) }, value: ages[i] as number });
      out.push({ metricName: `${AGE}_sum`, labels: { scope }, value: sum }, { metricName: `${AGE}_count`, labels: { scope }, value: readAt.length });
      // Deprecated in 0.2.0: the same quantiles under their old label, for one release.
      for (const [i, p] of AGE_PERCENTILES.entries()) out.push({ labels: { scope, percentile: String(p) }, value: ages[i] as number });
    }
    return out;
  };
  const metric = {
    name: AGE,
    help,
    type: 'summary',
    aggregator: 'sum',
    get: async () => ({ name: AGE, help, type: 'summary', aggregator: 'sum', values: values() }),
    reset: () => {},
  };
  return metric as unknown as Metric;
}

/** The Cloudflare budget, the connections queue and the age of the connections data. */
function budgetMetrics(registry: Registry, snapshot: () => Snapshot, now: () => number): (source: BudgetSource) => void {
  let budgetSource: BudgetSource | undefined;
  const readTimes = connectionReadTimes(snapshot);
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
    help: 'Requests per 5 minutes the schedules need for the fleet last listed: lists, Gateway, routes, a connections read per tunnel every TUNNELS_SCHEDULE interval, the configuration sweep.',
    labelNames: ['api'],
    registers: [registry],
    collect() {
      if (budgetSource) this.set({ api: 'cloudflare' }, budgetSource.needed());
    },
  });
  new Gauge({
    name: 'cloudflare_tunnel_exporter_api_requests_scheduled_per_5m',
    help: 'Of the requests needed, those of the polls that come first: tunnel list pages (1000 tunnels a page) every tunnels interval, Gateway, and the routes lists. Above the budget, the list polls stretch beyond TUNNELS_SCHEDULE and no connections are read.',
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
  registry.registerMetric(connectionsAge(readTimes, now));

  return (source) => {
    budgetSource = source;
  };
}

/**
 * 1 while the last poll of every source failed (optional ones skipped for a missing permission
 * aside): /-/ready stays 200 then, so a failing API does not restart the pod; this says it.
 */
function allSourcesFailingMetric(registry: Registry, snapshot: () => Snapshot): void {
  new Gauge({
    name: 'cloudflare_tunnel_exporter_all_sources_failing',
    help: 'Whether the last poll of every source failed: 1 yes (the exporter stays ready and serves what it kept, until STALE_DATA_MAX_AGE), 0 no.',
    registers: [registry],
    collect() {
      this.set(everySourceFailing(snapshot()) ? 1 : 0);
    },
  });
}

export function createSelfMetrics(options: { snapshot: () => Snapshot; now: () => number }): SelfMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'cloudflare_tunnel_exporter_build_info',
    help: 'Exporter build information; always 1.',
    labelNames: ['version', 'revision', 'nodejs_version'],
    registers: [registry],
  }).set({ version: VERSION, revision: REVISION, nodejs_version: process.version }, 1);
  const observeShard = shardMetrics(registry);
  allSourcesFailingMetric(registry, options.snapshot);

  // In the order /metrics has always listed them.
  const observer = apiMetrics(registry);
  const remediation = remediationMetrics(registry);
  const answerCut = answerCutMetrics(registry);
  const stateFileCorrupt = stateFileMetric(registry);
  return {
    registry,
    observer,
    remediation: { ...remediation, stateFileCorrupt },
    answerCut,
    observeBudget: budgetMetrics(registry, options.snapshot, options.now),
    observeShard,
  };
}
