// The exporter's own prom-client registry: every metric in SPEC with its HELP text, the domain
// gauges rebuilt from the snapshot at scrape time, and the live self-metrics (API requests,
// rate limit, remediation). Node's process metrics live in a separate registry.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiObserver } from '../clients/http.js';
import type { ApiName } from '../clients/errors.js';
import type { PollIntervals, RemediationCounters } from '../domain/types.js';
import type { Snapshot } from '../state/store.js';
import { REVISION, VERSION } from '../version.js';
import { collectCollectorMetrics } from './collectors.js';
import { collectGatewayMetrics } from './gateway.js';
import { collectProxyRecordMetrics } from './proxy-records.js';
import { formatFamily } from './exposition.js';
import type { Families } from './samples.js';
import { collectTunnelMetrics } from './tunnels.js';


export interface ExporterMetrics {
  /** The exporter's live self-metrics (API requests, rate limit, remediation, build info). */
  registry: Registry;
  /** Node.js process metrics, kept apart (their names do not all pass promtool's lint). */
  processRegistry: Registry;
  observer: ApiObserver;
  remediation: RemediationCounters;
  /** The exporter's own exposition: the snapshot's families, then the self-metrics. */
  renderOwn(): Promise<string>;
  /** What /metrics serves: renderOwn() followed by the process metrics. */
  render(): Promise<string>;
  contentType: string;
}

export interface MetricsOptions {
  snapshot: () => Snapshot;
  staleDataMaxAgeMs: number;
  intervals: PollIntervals;
  now?: () => number;
}

function every(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const T_LABELS = ['account_id', 'tunnel_id', 'tunnel_name', 'tunnel_type'];
const C_LABELS = ['account_id', 'tunnel_id', 'connector_id'];
const R_LABELS = ['organization_id', 'record_id', 'domain'];

export interface Family {
  name: string;
  help: string;
  /** The SPEC's labels, in order; test/metrics/labels.test.ts holds the collectors to them. */
  labelNames: string[];
  type: 'gauge' | 'counter';
}


export function domainFamilies(intervals: PollIntervals): Family[] {
  const why = 'Cloudflare allows 1200 API requests per 5 minutes per user, so the exporter polls on a timer and never calls the API at scrape time';
  const cf = `Polled every ${every(intervals.tunnelsSeconds)} (TUNNELS_SCHEDULE); ${why}.`;
  const gw = `Polled every ${every(intervals.gatewaySeconds)} (GATEWAY_SCHEDULE); ${why}.`;
  const ph = `Polled every ${every(intervals.proxyRecordsSeconds)} (PROXY_RECORDS_SCHEDULE) from the PostHog API, not at scrape time.`;
  const g = (name: string, help: string, labelNames: string[]): Family => ({ name, help, labelNames, type: 'gauge' });
  return [
    g('cloudflare_tunnel_info', `Cloudflare Tunnel metadata; always 1. ${cf}`, [...T_LABELS, 'config_src']),
    g('cloudflare_tunnel_status', `Tunnel status as a state set: 1 for the current status (healthy, degraded, down, inactive, unknown), 0 for the others. ${cf}`, [...T_LABELS, 'status']),
    g('cloudflare_tunnel_created_timestamp_seconds', `When the tunnel was created, in Unix seconds. ${cf}`, T_LABELS),
    g('cloudflare_tunnel_connected_since_timestamp_seconds', `When the tunnel last became connected (conns_active_at), in Unix seconds; absent when never. ${cf}`, T_LABELS),
    g('cloudflare_tunnel_disconnected_since_timestamp_seconds', `When the tunnel last lost its connections (conns_inactive_at), in Unix seconds; absent when never. ${cf}`, T_LABELS),
    g('cloudflare_tunnel_connectors', `Connectors (cloudflared or WARP Connector instances) the connections endpoint lists for the tunnel. ${cf}`, T_LABELS),
    g('cloudflare_tunnel_connections', `Connections the tunnel's connectors hold to a Cloudflare colo now. ${cf}`, [...T_LABELS, 'colo']),
    g('cloudflare_tunnel_pending_reconnect_connections', `Derived by the exporter (Cloudflare's is_pending_reconnect now always reports false): connections that were there at an earlier poll and are gone from a connector that is still listed and not back to its complete count (the most it held since its run_at), in the colo they were in; plus any the API still flags. ${cf}`, [...T_LABELS, 'colo']),
    { name: 'cloudflare_tunnel_connection_reconnects_total', help: `Derived by the exporter: new connection ids that filled a gap left by a dropped connection, counted in the colo of the connection replaced, since this process started. ${cf}`, labelNames: [...T_LABELS, 'colo'], type: 'counter' },
    { name: 'cloudflare_tunnel_status_transitions_total', help: `Tunnel status changes this exporter process has observed between polls. ${cf}`, labelNames: T_LABELS, type: 'counter' },
    g('cloudflare_tunnel_connector_info', `Tunnel connector metadata (cloudflared version, architecture, origin IP); always 1. ${cf}`, [...C_LABELS, 'version', 'arch', 'origin_ip']),
    g('cloudflare_tunnel_connector_active_connections', `Connections the connector holds now. ${cf}`, C_LABELS),
    g('cloudflare_tunnel_connector_missing_connections', `Derived by the exporter: the connector's complete count (the most connections it held since its run_at; cloudflared keeps 4 by default) minus the connections it holds now. ${cf}`, [...T_LABELS, 'connector_id']),
    g('cloudflare_tunnel_connector_config_version', `Remote configuration version the connector runs. ${cf}`, C_LABELS),
    g('cloudflare_tunnel_connector_started_timestamp_seconds', `When the connector process started (run_at), in Unix seconds. ${cf}`, C_LABELS),
    g('cloudflare_tunnel_connector_ha_status', `WARP Connector high-availability status as a state set (active, passive, offline). ${cf}`, [...C_LABELS, 'ha_status']),
    g('cloudflare_gateway_proxy_endpoint_info', `Zero Trust Gateway proxy endpoint metadata; always 1. ${gw}`, ['account_id', 'endpoint_id', 'name', 'kind', 'subdomain']),
    g('cloudflare_gateway_proxy_endpoint_ip_ranges', `CIDRs allowed to use the Gateway proxy endpoint (0 for identity endpoints). ${gw}`, ['account_id', 'endpoint_id', 'name']),
    g('posthog_proxy_record_info', `PostHog managed reverse proxy record metadata; always 1. ${ph}`, ['organization_id', 'record_id', 'domain', 'target_cname']),
    g('posthog_proxy_record_status', `Proxy record status as a state set: 1 for the current status (waiting, issuing, valid, warning, erroring, deleting, timed_out, unknown), 0 for the others. ${ph}`, [...R_LABELS, 'status']),
    g('posthog_proxy_record_created_timestamp_seconds', `When the proxy record was created, in Unix seconds. ${ph}`, R_LABELS),
    g('posthog_proxy_record_updated_timestamp_seconds', `When the proxy record last changed, in Unix seconds. ${ph}`, R_LABELS),
    g('posthog_proxy_records_max', `Proxy records the organization's plan allows (max_proxy_records); absent when the server does not report it. ${ph}`, ['organization_id']),
    g('cloudflare_tunnel_exporter_collector_success', 'Whether the last poll of this collector and scope (account or organization id) succeeded: 1 yes, 0 no.', ['collector', 'scope']),
    g('cloudflare_tunnel_exporter_collector_duration_seconds', 'How long the last poll of this collector and scope took, in seconds.', ['collector', 'scope']),
    g('cloudflare_tunnel_exporter_collector_last_success_timestamp_seconds', 'When this collector and scope last polled successfully, in Unix seconds.', ['collector', 'scope']),
  ];
}

export function createExporterMetrics(options: MetricsOptions): ExporterMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  // prom-client's gauges named *_total break the naming convention (promtool check metrics fails
  // the whole exposition on them); each is only the sum of the same gauge by type, kept below.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) processRegistry.removeSingleMetric(name);

  // The domain samples are computed once per snapshot and second, however many scrapes ask.
  let cache: { version: number; second: number; families: Families } | undefined;
  const domainSamples = (): Families => {
    const snapshot = options.snapshot();
    const t = now();
    const second = Math.floor(t / 1000);
    if (cache && cache.version === snapshot.version && cache.second === second) return cache.families;
    const out: Families = new Map();
    collectTunnelMetrics(snapshot, t, options.staleDataMaxAgeMs, out);
    collectGatewayMetrics(snapshot, t, options.staleDataMaxAgeMs, out);
    collectProxyRecordMetrics(snapshot, t, options.staleDataMaxAgeMs, out);
    collectCollectorMetrics(snapshot, out);
    cache = { version: snapshot.version, second, families: out };
    return out;
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
    help: 'A proxy record the exporter recreated (PROXY_RECORD_RETRY_METHOD=recreate) came back with a new target_cname: point the domain\'s CNAME at it. 1 until the record is seen valid.',
    labelNames: ['organization_id', 'domain', 'target_cname'],
    registers: [registry],
  });

  const definitions = domainFamilies(options.intervals);
  const renderOwn = async () => {
    const samples = domainSamples();
    const domain = definitions.map((family) => formatFamily(family, samples.get(family.name) ?? [])).join('\n\n');
    return `${domain}\n\n${await registry.metrics()}`;
  };

  return {
    registry,
    processRegistry,
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
    },
    renderOwn,
    async render() {
      return `${await renderOwn()}\n${await processRegistry.metrics()}`;
    },
  };
}
