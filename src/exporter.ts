// Wires configuration to clients, pollers, the store, metrics, remediation and HTTP, and owns the
// order of start-up and shutdown. cli.ts handles argv, exit codes and signals around it.

import { CLOUDFLARE_WINDOW_MS, type CloudflareBudget, configurationsPace, createCloudflareBudget, remediationReserve } from './budget/plan.js';
import { steadyNow, toWall } from './clock.js';
import type { Config } from './config/schema.js';
import type { PollIntervals } from './domain/types.js';
import { createHttpApp, type HttpAppOptions } from './http/app.js';
import { createBasicAuth } from './http/basic-auth.js';
import type { SourceStatus } from './http/landing.js';
import { type RunningServer, serve } from './http/server.js';
import type { WebConfig } from './http/web-config.js';
import type { Logger } from './log.js';
import { createExporterMetrics, type ExporterMetrics } from './metrics/exporter-metrics.js';
import { createRemediation, type Remediation } from './remediation/engine.js';
import { affectedNow } from './snapshot/affected.js';
import { COLLECTORS, type CollectorName, createSnapshotStore, everySourceFailing, type SnapshotListener, type SnapshotStore } from './snapshot/store.js';
import { ConfigurationReader } from './sources/configurations/reader.js';
import { createGatewayPoller } from './sources/gateway/poll.js';
import { createPollReporter, type PollReporter } from './sources/poll.js';
import { createProxyRecordsPoller } from './sources/proxy-records/poll.js';
import { createRoutesPollers } from './sources/routes/poll.js';
import { createScheduledJob, type ScheduledJob, scheduleIntervalSeconds } from './sources/scheduler.js';
import { TUNNELS_PER_PAGE } from './sources/tunnels/api.js';
import { createTunnelsPoller } from './sources/tunnels/poll.js';
import { type ConnectionsRefresher, createConnectionsRefresher } from './sources/tunnels/refresher.js';
import { type ApiClient, createApiClient } from './transport/http.js';
import { DOCS_URL, VERSION } from './version.js';

export interface ExporterOptions {
  config: Config;
  log: Logger;
  webConfig?: WebConfig;
  now?: () => number;
}

export interface Exporter {
  store: SnapshotStore;
  metrics: ExporterMetrics;
  clients: { cloudflare?: ApiClient; posthog?: ApiClient };
  jobs: ScheduledJob[];
  remediation?: Remediation;
  /** Starts polling and serving; resolves once the HTTP server listens. */
  start(): Promise<RunningServer>;
  stop(): Promise<void>;
  /** Resolves when every source has been polled once (what /-/ready reports). */
  ready(): Promise<void>;
  /** Resolves when the connections refresh has read every tunnel due (for tests and the bench). */
  connectionsSettled(): Promise<void>;
  /** Applies a reloaded web config (basic auth users, headers, TLS files) without a restart. */
  reloadWebConfig(web: WebConfig): Promise<void>;
  /** The collectors and scopes readiness waits for. */
  expected: { collector: CollectorName; scope: string }[];
}

/** What every source's wiring shares. */
interface Wiring {
  config: Config;
  log: Logger;
  now: () => number;
  store: SnapshotStore;
  metrics: ExporterMetrics;
  intervals: PollIntervals;
  reporter: PollReporter;
}

interface Wired {
  client: ApiClient;
  jobs: ScheduledJob[];
  /** The collectors and scopes readiness waits for. */
  expected: Exporter['expected'];
}

/** Cloudflare: the budget, the client that spends it, the tunnel and Gateway polls per account, the connections refresh. */
/**
 * What a down tunnel takes down, per account: its routes and hostname routes on ROUTES_SCHEDULE,
 * and the tunnels' configurations (read as they are due, swept on CONFIGURATIONS_SCHEDULE). Each
 * is optional (`off`) and stays out of readiness.
 */
function wireReach(cf: NonNullable<Config['cloudflare']>, w: Wiring, client: ApiClient): { jobs: ScheduledJob[]; reader?: ConfigurationReader } {
  const { config, log, now, store, reporter } = w;
  const { routes, configurations } = config.schedules;
  const reader =
    configurations === 'off'
      ? undefined
      : new ConfigurationReader({
          client,
          store,
          reporter,
          pace: () => configurationsPace(cf.budget),
          staleDataMaxAgeMs: config.staleDataMaxAgeMs,
          log: log.child({ component: 'configurations' }),
          now,
        });
  const jobs: ScheduledJob[] = [];
  for (const accountId of cf.accountIds) {
    if (routes !== 'off') {
      const run = createRoutesPollers({ client, accountId, store, reporter, now, log: log.child({ component: 'poller' }) });
      jobs.push(createScheduledJob({ name: `routes/${accountId}`, schedule: routes, run, log }));
    }
    if (reader) {
      jobs.push(createScheduledJob({ name: `tunnel_configurations/${accountId}`, schedule: configurations, run: async () => reader.sweep(accountId), log }));
    }
  }
  return { jobs, ...(reader ? { reader } : {}) };
}

function wireCloudflare(
  cf: NonNullable<Config['cloudflare']>,
  w: Wiring,
): Wired & { budget: CloudflareBudget; refresher: ConnectionsRefresher; reader?: ConfigurationReader } {
  const { config, log, now, store, metrics, intervals, reporter } = w;
  const budget = createCloudflareBudget({
    budget: cf.budget,
    intervals,
    accounts: cf.accountIds.length,
    perPage: TUNNELS_PER_PAGE,
    remediationReserve: config.remediation.staleConnectors === 'off' ? 0 : remediationReserve(config.remediation.maxActionsPerHour),
    tunnelsSchedule: config.schedules.tunnels,
    shards: config.sharding.total,
    snapshot: store.snapshot(),
    log,
    now,
  });
  // The estimate follows each tunnel list; the budget says so when the schedules need more.
  store.subscribe((snapshot, change) => {
    if (change.collector === 'tunnels') budget.update(snapshot);
  });
  const client = createApiClient({
    observer: metrics.observer,
    now,
    api: 'cloudflare',
    baseUrl: cf.baseUrl,
    headers: cf.auth.kind === 'token' ? { authorization: `Bearer ${cf.auth.token}` } : { 'x-auth-email': cf.auth.email, 'x-auth-key': cf.auth.key },
    pacer: budget.pacer,
    defaultRetryAfterMs: CLOUDFLARE_WINDOW_MS,
    log: log.child({ component: 'cloudflare-client' }),
  });
  const refresher = createConnectionsRefresher({
    client,
    store,
    intervalMs: intervals.tunnelsSeconds * 1000,
    pace: budget.pace,
    haConnections: config.haConnections,
    onCut: metrics.answerCut,
    log: log.child({ component: 'connections' }),
    now,
  });
  metrics.observeBudget({
    budget: budget.budget,
    used: () => budget.pacer.used(),
    needed: () => budget.estimate().total,
    scheduled: () => budget.estimate().scheduled,
    queued: () => refresher.queued(),
  });
  const jobs: ScheduledJob[] = [];
  const expected: Exporter['expected'] = [];
  for (const accountId of cf.accountIds) {
    jobs.push(
      createScheduledJob({
        name: `tunnels/${accountId}`,
        schedule: config.schedules.tunnels,
        run: createTunnelsPoller({ client, accountId, store, reporter, refresher, log: log.child({ component: 'poller' }) }),
        log,
      }),
      createScheduledJob({
        name: `gateway_proxy_endpoints/${accountId}`,
        schedule: config.schedules.gateway,
        run: createGatewayPoller({ client, accountId, store, reporter }),
        log,
      }),
    );
    // Ready once the lists are polled; connections reads go on after that.
    expected.push({ collector: 'tunnels', scope: accountId }, { collector: 'gateway_proxy_endpoints', scope: accountId });
  }
  const reach = wireReach(cf, w, client);
  jobs.push(...reach.jobs);
  return { client, jobs, expected, budget, refresher, ...(reach.reader ? { reader: reach.reader } : {}) };
}

/** PostHog: its client and the proxy records poll per organization. */
function wirePostHog(ph: NonNullable<Config['posthog']>, w: Wiring): Wired {
  const client = createApiClient({
    observer: w.metrics.observer,
    now: w.now,
    api: 'posthog',
    baseUrl: ph.baseUrl,
    headers: { authorization: `Bearer ${ph.apiKey}` },
    log: w.log.child({ component: 'posthog-client' }),
  });
  const jobs = ph.organizationIds.map((organizationId) =>
    createScheduledJob({
      name: `proxy_records/${organizationId}`,
      schedule: w.config.schedules.proxyRecords,
      run: createProxyRecordsPoller({ client, organizationId, store: w.store, reporter: w.reporter }),
      log: w.log,
    }),
  );
  return { client, jobs, expected: ph.organizationIds.map((scope) => ({ collector: 'proxy_records', scope })) };
}

/** Each source's last poll as the landing page lists it. */
function sourceStatuses(store: SnapshotStore): SourceStatus[] {
  const snapshot = store.snapshot();
  return COLLECTORS.flatMap((collector) =>
    [...snapshot[collector]].map(([scope, entry]) => ({
      collector,
      scope,
      ok: entry.last.ok,
      // Shown as a time of day: as the wall clock reads it (ages stay on the steady clock).
      lastPollAt: toWall(entry.last.at),
      lastSuccessAt: entry.lastSuccessAt,
      error: entry.last.error,
      ...(entry.last.skipped ? { skipped: true } : {}),
    })),
  );
}

/** What the landing page shows beyond the sources: the Cloudflare budget and the remediation. */
function landingExtras(config: Config, cloudflare: ReturnType<typeof wireCloudflare> | undefined, remediation: Remediation | undefined) {
  const budget = cloudflare && {
    budget: cloudflare.budget.budget,
    usedLast5m: cloudflare.budget.pacer.used(),
    neededPer5m: cloudflare.budget.estimate().total,
    listsPer5m: cloudflare.budget.estimate().scheduled,
    queued: [...cloudflare.refresher.queued().values()].reduce((a, b) => a + b, 0),
  };
  const decisions = remediation && {
    staleConnectors: config.remediation.staleConnectors,
    proxyRecords: config.remediation.proxyRecords,
    decisions: remediation.recent().slice(0, 10),
    ...remediation.problems(),
  };
  return { ...(budget ? { budget } : {}), ...(decisions ? { remediation: decisions } : {}) };
}

/** What the landing page shows now: each source's last poll, what unhealthy tunnels take down, the budget, remediation. */
function landingData(
  config: Config,
  store: SnapshotStore,
  now: number,
  cloudflare: ReturnType<typeof wireCloudflare> | undefined,
  remediation: Remediation | undefined,
) {
  return {
    docsUrl: DOCS_URL,
    now,
    sources: sourceStatuses(store),
    allSourcesFailing: everySourceFailing(store.snapshot()),
    ...(config.sharding.total > 1
      ? { shard: { ...config.sharding, accounts: config.cloudflare?.accountIds.length ?? 0, organizations: config.posthog?.organizationIds.length ?? 0 } }
      : {}),
    ...(reaching(config) ? { affected: affectedNow(store.snapshot(), now, config.staleDataMaxAgeMs) } : {}),
    ...landingExtras(config, cloudflare, remediation),
  };
}

/** Whether anything tells what a tunnel takes down: Cloudflare polled, with routes or configurations on. */
function reaching(config: Config): boolean {
  return config.cloudflare !== undefined && (config.schedules.routes !== 'off' || config.schedules.configurations !== 'off');
}

/** How often each list is polled, in seconds, from its schedule. */
function intervalsOf(config: Config): PollIntervals {
  return {
    tunnelsSeconds: scheduleIntervalSeconds(config.schedules.tunnels),
    gatewaySeconds: scheduleIntervalSeconds(config.schedules.gateway),
    proxyRecordsSeconds: scheduleIntervalSeconds(config.schedules.proxyRecords),
    ...(config.schedules.routes !== 'off' ? { routesSeconds: scheduleIntervalSeconds(config.schedules.routes) } : {}),
    ...(config.schedules.configurations !== 'off' ? { configurationsSeconds: scheduleIntervalSeconds(config.schedules.configurations) } : {}),
  };
}

/** The collector/scope pairs with no snapshot yet: what /-/ready waits for. */
function notYetPolled(store: SnapshotStore, expected: Exporter['expected']): string[] {
  const snapshot = store.snapshot();
  return expected.filter((e) => !snapshot[e.collector].has(e.scope)).map((e) => `${e.collector}/${e.scope}`);
}

/** The metrics, rendered ahead from the store's snapshot at every change, and which shard this is. */
function metricsOf(config: Config, store: SnapshotStore, intervals: PollIntervals, now: () => number): ExporterMetrics {
  const subscribe = (listener: SnapshotListener) => store.subscribe(listener);
  const { staleDataMaxAgeMs, accountLimits } = config;
  const metrics = createExporterMetrics({ snapshot: store.snapshot, subscribe, staleDataMaxAgeMs, intervals, accountLimits, now });
  metrics.observeShard({ ...config.sharding, accounts: config.cloudflare?.accountIds ?? [], organizations: config.posthog?.organizationIds ?? [] });
  return metrics;
}

export function createExporter(options: ExporterOptions): Exporter {
  const { config, log } = options;
  const now = options.now ?? steadyNow;
  const store = createSnapshotStore();
  const intervals = intervalsOf(config);
  const metrics = metricsOf(config, store, intervals, now);
  const reporter = createPollReporter(log.child({ component: 'poller' }), now, metrics.answerCut);
  const wiring: Wiring = { config, log, now, store, metrics, intervals, reporter };
  const cloudflare = config.cloudflare && wireCloudflare(config.cloudflare, wiring);
  const posthog = config.posthog && wirePostHog(config.posthog, wiring);
  const jobs = [...(cloudflare?.jobs ?? []), ...(posthog?.jobs ?? [])];
  const expected = [...(cloudflare?.expected ?? []), ...(posthog?.expected ?? [])];
  const clients: Exporter['clients'] = { ...(cloudflare ? { cloudflare: cloudflare.client } : {}), ...(posthog ? { posthog: posthog.client } : {}) };
  const { refresher, reader } = cloudflare ?? {};

  const remediating = config.remediation.staleConnectors !== 'off' || config.remediation.proxyRecords !== 'off';
  const remediation = remediating
    ? createRemediation({ config, store, clients, counters: metrics.remediation, log: log.child({ component: 'remediation' }), now, intervals })
    : undefined;

  const waitingFor = () => notYetPolled(store, expected);
  let basicAuth = options.webConfig?.basicAuthUsers ? createBasicAuth(options.webConfig.basicAuthUsers) : undefined;
  const appOptions: HttpAppOptions = {
    telemetryPath: config.web.telemetryPath,
    version: VERSION,
    scrapeMetrics: metrics.scrape,
    metricsContentType: metrics.contentType,
    waitingFor,
    landing: () => landingData(config, store, now(), cloudflare, remediation),
    ...(basicAuth ? { basicAuth } : {}),
    ...(options.webConfig?.headers ? { headers: options.webConfig.headers } : {}),
  };
  const app = createHttpApp(appOptions);

  let server: RunningServer | undefined;
  return {
    store,
    metrics,
    clients,
    jobs,
    expected,
    ...(remediation ? { remediation } : {}),
    async start() {
      server = await serve(app, config.web.listen, options.webConfig, log.child({ component: 'http' }));
      remediation?.start();
      refresher?.start();
      reader?.start();
      for (const job of jobs) job.start();
      return server;
    },
    async ready() {
      await Promise.all(jobs.map((j) => j.firstRun));
    },
    async connectionsSettled() {
      await refresher?.settled();
      await reader?.settled();
    },
    async reloadWebConfig(web) {
      if (!server) throw new Error('not started');
      if (Boolean(web.tls) !== Boolean(options.webConfig?.tls)) throw new Error('turning TLS on or off needs a restart');
      if (web.tls) server.reloadTls(web.tls);
      const previous = basicAuth;
      basicAuth = web.basicAuthUsers ? createBasicAuth(web.basicAuthUsers) : undefined;
      appOptions.basicAuth = basicAuth;
      appOptions.headers = web.headers;
      await previous?.close();
    },
    async stop() {
      remediation?.stop();
      await Promise.all([...jobs.map((j) => j.stop()), refresher?.stop(), reader?.stop()]);
      await remediation?.idle();
      await server?.close();
      await basicAuth?.close();
      metrics.close();
    },
  };
}
