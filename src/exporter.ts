// Wires configuration to clients, pollers, the store, metrics, remediation and HTTP, and owns the
// order of start-up and shutdown. cli.ts handles argv, exit codes and signals around it.

import { CLOUDFLARE_WINDOW_MS, type CloudflareBudget, createCloudflareBudget, remediationReserve } from './budget/plan.js';
import { steadyNow, toWall } from './clock.js';
import type { Config } from './config/schema.js';
import { createHttpApp, type HttpAppOptions } from './http/app.js';
import { createBasicAuth } from './http/basic-auth.js';
import type { SourceStatus } from './http/landing.js';
import { type RunningServer, serve } from './http/server.js';
import type { WebConfig } from './http/web-config.js';
import type { Logger } from './log.js';
import { createExporterMetrics, type ExporterMetrics } from './metrics/exporter-metrics.js';
import { createRemediation, type Remediation } from './remediation/engine.js';
import { COLLECTORS, type CollectorName, createSnapshotStore, type SnapshotStore } from './snapshot/store.js';
import { createGatewayPoller } from './sources/gateway/poll.js';
import { createPollReporter } from './sources/poll.js';
import { createProxyRecordsPoller } from './sources/proxy-records/poll.js';
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

export function createExporter(options: ExporterOptions): Exporter {
  const { config, log } = options;
  const now = options.now ?? steadyNow;
  const store = createSnapshotStore();
  const intervals = {
    tunnelsSeconds: scheduleIntervalSeconds(config.schedules.tunnels),
    gatewaySeconds: scheduleIntervalSeconds(config.schedules.gateway),
    proxyRecordsSeconds: scheduleIntervalSeconds(config.schedules.proxyRecords),
  };
  const metrics = createExporterMetrics({
    snapshot: store.snapshot,
    subscribe: (listener) => store.subscribe(listener),
    staleDataMaxAgeMs: config.staleDataMaxAgeMs,
    intervals,
    now,
  });
  const reporter = createPollReporter(log.child({ component: 'poller' }), now, metrics.answerCut);
  const jobs: ScheduledJob[] = [];
  const expected: Exporter['expected'] = [];
  const clients: Exporter['clients'] = {};
  const common = { observer: metrics.observer, now };

  let refresher: ConnectionsRefresher | undefined;
  let budget: CloudflareBudget | undefined;
  if (config.cloudflare) {
    const cf = config.cloudflare;
    const plan = createCloudflareBudget({
      budget: cf.budget,
      intervals,
      accounts: cf.accountIds.length,
      perPage: TUNNELS_PER_PAGE,
      remediationReserve: config.remediation.staleConnectors === 'off' ? 0 : remediationReserve(config.remediation.maxActionsPerHour),
      tunnelsSchedule: config.schedules.tunnels,
      snapshot: store.snapshot(),
      log,
      now,
    });
    budget = plan;
    // The estimate follows each tunnel list; the budget says so when the schedules need more.
    store.subscribe((snapshot, change) => {
      if (change.collector === 'tunnels') plan.update(snapshot);
    });
    metrics.observeBudget({
      budget: cf.budget,
      used: () => plan.pacer.used(),
      needed: () => plan.estimate().total,
      scheduled: () => plan.estimate().scheduled,
      queued: () => refresher?.queued() ?? new Map(),
    });
    const client = createApiClient({
      ...common,
      api: 'cloudflare',
      baseUrl: cf.baseUrl,
      headers: cf.auth.kind === 'token' ? { authorization: `Bearer ${cf.auth.token}` } : { 'x-auth-email': cf.auth.email, 'x-auth-key': cf.auth.key },
      pacer: plan.pacer,
      defaultRetryAfterMs: CLOUDFLARE_WINDOW_MS,
      log: log.child({ component: 'cloudflare-client' }),
    });
    clients.cloudflare = client;
    const connectionsRefresher = createConnectionsRefresher({
      client,
      store,
      intervalMs: intervals.tunnelsSeconds * 1000,
      pace: plan.pace,
      haConnections: config.haConnections,
      onCut: metrics.answerCut,
      log: log.child({ component: 'connections' }),
      now,
    });
    refresher = connectionsRefresher;
    for (const accountId of cf.accountIds) {
      jobs.push(
        createScheduledJob({
          name: `tunnels/${accountId}`,
          schedule: config.schedules.tunnels,
          run: createTunnelsPoller({ client, accountId, store, reporter, refresher: connectionsRefresher, log: log.child({ component: 'poller' }) }),
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
  }

  if (config.posthog) {
    const ph = config.posthog;
    const client = createApiClient({
      ...common,
      api: 'posthog',
      baseUrl: ph.baseUrl,
      headers: { authorization: `Bearer ${ph.apiKey}` },
      log: log.child({ component: 'posthog-client' }),
    });
    clients.posthog = client;
    for (const organizationId of ph.organizationIds) {
      jobs.push(
        createScheduledJob({
          name: `proxy_records/${organizationId}`,
          schedule: config.schedules.proxyRecords,
          run: createProxyRecordsPoller({ client, organizationId, store, reporter }),
          log,
        }),
      );
      expected.push({ collector: 'proxy_records', scope: organizationId });
    }
  }

  const remediation =
    config.remediation.staleConnectors !== 'off' || config.remediation.proxyRecords !== 'off'
      ? createRemediation({ config, store, clients, counters: metrics.remediation, log: log.child({ component: 'remediation' }), now, intervals })
      : undefined;

  const waitingFor = () => {
    const snapshot = store.snapshot();
    return expected.filter((e) => !snapshot[e.collector].has(e.scope)).map((e) => `${e.collector}/${e.scope}`);
  };
  const sources = (): SourceStatus[] => {
    const snapshot = store.snapshot();
    return COLLECTORS.flatMap((collector) =>
      [...snapshot[collector]].map(([scope, entry]) => ({
        collector,
        scope,
        ok: entry.last.ok,
        // Shown as a time of day: as the wall clock reads it (ages stay on the steady clock).
        lastPollAt: toWall(entry.last.at),
        ...(entry.lastSuccessAt !== undefined ? { lastSuccessAt: entry.lastSuccessAt } : {}),
        ...(entry.last.error !== undefined ? { error: entry.last.error } : {}),
      })),
    );
  };

  let basicAuth = options.webConfig?.basicAuthUsers ? createBasicAuth(options.webConfig.basicAuthUsers) : undefined;
  const appOptions: HttpAppOptions = {
    telemetryPath: config.web.telemetryPath,
    version: VERSION,
    scrapeMetrics: metrics.scrape,
    metricsContentType: metrics.contentType,
    waitingFor,
    landing: () => ({
      docsUrl: DOCS_URL,
      now: now(),
      sources: sources(),
      ...(config.cloudflare && budget
        ? {
            budget: {
              budget: config.cloudflare.budget,
              usedLast5m: budget.pacer.used(),
              neededPer5m: budget.estimate().total,
              listsPer5m: budget.estimate().scheduled,
              queued: [...(refresher?.queued().values() ?? [])].reduce((a, b) => a + b, 0),
            },
          }
        : {}),
      ...(remediation
        ? {
            remediation: {
              staleConnectors: config.remediation.staleConnectors,
              proxyRecords: config.remediation.proxyRecords,
              decisions: remediation.recent().slice(0, 10),
              ...remediation.problems(),
            },
          }
        : {}),
    }),
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
      for (const job of jobs) job.start();
      return server;
    },
    async ready() {
      await Promise.all(jobs.map((j) => j.firstRun));
    },
    async connectionsSettled() {
      await refresher?.settled();
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
      await Promise.all([...jobs.map((j) => j.stop()), refresher?.stop()]);
      await remediation?.idle();
      await server?.close();
      await basicAuth?.close();
      metrics.close();
    },
  };
}
