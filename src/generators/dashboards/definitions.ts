// The four shipped Grafana dashboards. `npm run dashboards` writes them to grafana/dashboards/;
// test/ops/dashboards.test.ts checks the committed files match and that every query names only
// metrics the exporter exposes, and the end-to-end test runs every query against Prometheus.
import { barGauge, DETAIL_UID, dashboard, FLEET_UID, row, stat, stateTimeline, statusMappings, table, timeseries } from './panels.js';

const TAGS = ['cloudflare-tunnel-exporter'];
const ACC = 'account_id=~"$account_id"';
/** One tunnel, by its id (two tunnels may share a name, in two accounts or one). */
const TUN = `${ACC},tunnel_id=~"$tunnel"`;

const TUNNEL_STATES = statusMappings([
  { text: 'healthy', color: 'green' },
  { text: 'degraded', color: 'orange' },
  { text: 'down', color: 'red' },
  { text: 'inactive', color: 'text' },
  { text: 'unknown', color: 'purple' },
]);

/** One number per tunnel: 0 healthy, 1 degraded, 2 down, 3 inactive, 4 unknown (see TUNNEL_STATES). */
const tunnelStatusCode = (selector: string) =>
  ['degraded', 'down', 'inactive', 'unknown']
    .map((s, i) => `${i + 1} * sum without (status) (cloudflare_tunnel_status{${selector},status="${s}"})`)
    .join(' + ');

const RECORD_STATES = ['waiting', 'issuing', 'valid', 'warning', 'erroring', 'deleting', 'timed_out', 'unknown'];
const RECORD_MAPPINGS = statusMappings(
  RECORD_STATES.map((text) => ({
    text,
    color: { valid: 'green', waiting: 'blue', issuing: 'blue', warning: 'orange', erroring: 'red', timed_out: 'red', deleting: 'text', unknown: 'purple' }[
      text
    ] as string,
  })),
);
const recordStatusCode = (selector: string) =>
  RECORD_STATES.slice(1)
    .map((s, i) => `${i + 1} * sum without (status) (posthog_proxy_record_status{${selector},status="${s}"})`)
    .join(' + ');

/** A table of what unhealthy tunnels take down now: one row per series of `expr`, its labels as columns. */
const affectedTable = (title: string, description: string, expr: string, columns: Record<string, string>) =>
  table({
    title,
    description,
    targets: [{ expr, instant: true }],
    transformations: [
      {
        id: 'organize',
        options: { excludeByName: { Time: true, Value: true }, renameByName: { ...columns, tunnel_name: 'Tunnel', status: 'Status', account_id: 'Account' } },
      },
    ],
    w: 12,
  });

const accountVar = { name: 'account_id', label: 'Account', query: 'label_values(cloudflare_tunnel_info, account_id)' };

const fleetOverview = dashboard({
  uid: FLEET_UID,
  title: 'Cloudflare Tunnels / Fleet overview',
  description:
    'Every Cloudflare Tunnel and WARP Connector of the selected accounts: status, what unhealthy tunnels take down now, account limits, connectors, colos, versions and pending reconnects.',
  tags: [...TAGS, 'cloudflare'],
  variables: [accountVar],
  panels: [
    ...['healthy', 'degraded', 'down', 'inactive'].map((status) =>
      stat({
        title: `Tunnels ${status}`,
        description: `Tunnels whose status is ${status}.`,
        targets: [{ expr: `count(cloudflare_tunnel_status{${ACC},status="${status}"} == 1) or vector(0)`, legendFormat: status, instant: true }],
        thresholds: [
          { color: status === 'healthy' ? 'green' : 'text', value: null },
          ...(status === 'down' ? [{ color: 'red', value: 1 }] : status === 'degraded' ? [{ color: 'orange', value: 1 }] : []),
        ],
      }),
    ),
    stateTimeline({
      title: 'Status timeline',
      description: "Each tunnel's status over time, as polled from the Cloudflare API.",
      targets: [{ expr: tunnelStatusCode(ACC), legendFormat: '{{tunnel_name}}' }],
      mappings: TUNNEL_STATES,
      h: 10,
    }),
    table({
      title: 'Tunnels',
      description:
        'Every tunnel with its status, connectors, the colos it holds connections in, how many cloudflared versions its connectors run, its pending reconnects now and its reconnects in the last hour (both derived by the exporter from successive polls).',
      targets: [
        { expr: `max by (account_id, tunnel_id, tunnel_name, tunnel_type, status) (cloudflare_tunnel_status{${ACC}} == 1)` },
        { expr: `max by (account_id, tunnel_id) (cloudflare_tunnel_connectors{${ACC}})` },
        { expr: `count by (account_id, tunnel_id) (cloudflare_tunnel_connections{${ACC}} > 0)` },
        { expr: `count by (account_id, tunnel_id) (count by (account_id, tunnel_id, version) (cloudflare_tunnel_connector_info{${ACC}}))` },
        { expr: `sum by (account_id, tunnel_id) (cloudflare_tunnel_pending_reconnect_connections{${ACC}})` },
        { expr: `sum by (account_id, tunnel_id) (increase(cloudflare_tunnel_connection_reconnects_total{${ACC}}[1h]))` },
      ],
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, 'Value #A': true },
            renameByName: {
              tunnel_name: 'Tunnel',
              tunnel_type: 'Type',
              status: 'Status',
              'Value #B': 'Connectors',
              'Value #C': 'Colos',
              'Value #D': 'Versions',
              'Value #E': 'Pending reconnects',
              'Value #F': 'Reconnects (1h)',
              account_id: 'Account',
              tunnel_id: 'Tunnel ID',
            },
          },
        },
      ],
      // A tunnel's name opens the tunnel detail with that tunnel (and account) selected.
      overrides: [
        {
          matcher: { id: 'byName', options: 'Tunnel' },
          properties: [
            {
              id: 'links',
              value: [
                {
                  title: 'Tunnel detail',
                  url: `/d/${DETAIL_UID}?\${__url_time_range}&var-datasource=\${datasource}&var-job=\${job}&var-account_id=\${__data.fields.Account}&var-tunnel=\${__data.fields["Tunnel ID"]}`,
                },
              ],
            },
          ],
        },
      ],
      h: 10,
    }),
    row('Affected now'),
    affectedTable(
      'Public hostnames behind unhealthy tunnels',
      'The public hostnames (ingress rules of remotely managed tunnels) whose tunnel is down or degraded now: what users cannot reach, or reach through fewer connections.',
      `max by (account_id, hostname, path, tunnel_name, status) (cloudflare_tunnel_ingress_info{${ACC}} * on (account_id, tunnel_id) group_left (status) max by (account_id, tunnel_id, status) (cloudflare_tunnel_status{${ACC},status=~"down|degraded"} == 1))`,
      { hostname: 'Hostname', path: 'Path' },
    ),
    affectedTable(
      'Private networks behind unhealthy tunnels',
      'The private network routes whose tunnel is down, inactive or degraded now, with their virtual network: what WARP clients cannot reach.',
      `max by (account_id, network, virtual_network, tunnel_name, status) (cloudflare_tunnel_route_info{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name, status) max by (account_id, tunnel_id, tunnel_name, status) (cloudflare_tunnel_status{${ACC},status=~"down|inactive|degraded"} == 1))`,
      { network: 'Network', virtual_network: 'Virtual network' },
    ),
    barGauge({
      title: 'Account limits used',
      description:
        'What each account uses of the limits Cloudflare documents (or CLOUDFLARE_ACCOUNT_LIMITS): tunnels, WARP Connectors, routes, and the most connections one tunnel holds. Past a limit, Cloudflare refuses new ones.',
      unit: 'percentunit',
      targets: [
        {
          expr: `max by (account_id, resource) (cloudflare_account_usage{${ACC}}) / on (account_id, resource) max by (account_id, resource) (cloudflare_account_limit{${ACC}})`,
          legendFormat: '{{account_id}} {{resource}}',
          instant: true,
        },
      ],
      w: 24,
    }),
    row('Connections'),
    timeseries({
      title: 'Active connections per colo',
      description: 'Connections held now, summed over the selected tunnels, per Cloudflare colo.',
      targets: [{ expr: `sum by (colo) (cloudflare_tunnel_connections{${ACC}})`, legendFormat: '{{colo}}' }],
    }),
    timeseries({
      title: 'Pending reconnects',
      description:
        'Derived by the exporter (Cloudflare no longer reports it): connections that dropped from a running connector and have not been replaced, per tunnel. A cloudflared restart is a new connector and shows under restarts, not here. Lasting values mean a connector cannot get back.',
      targets: [{ expr: `sum by (tunnel_name) (cloudflare_tunnel_pending_reconnect_connections{${ACC}}) > 0`, legendFormat: '{{tunnel_name}}' }],
    }),
    timeseries({
      title: 'Reconnects per hour (flapping)',
      description:
        'Derived by the exporter: new connection ids that replaced dropped ones, per tunnel, as a rate per hour. A few an hour are normal (Cloudflare edge restarts); a steady rate is a flapping connector or network path.',
      unit: 'short',
      targets: [
        {
          expr: `sum by (tunnel_name) (rate(cloudflare_tunnel_connection_reconnects_total{${ACC}}[$__rate_interval])) * 3600`,
          legendFormat: '{{tunnel_name}}',
        },
      ],
    }),
    barGauge({
      title: 'Connectors by cloudflared version',
      description: 'How many connectors run each cloudflared version.',
      targets: [{ expr: `count by (version) (cloudflare_tunnel_connector_info{${ACC}})`, legendFormat: '{{version}}', instant: true }],
    }),
    table({
      title: 'Gateway proxy endpoints',
      description: 'Zero Trust Gateway proxy endpoints and the number of CIDRs allowed to use each.',
      targets: [
        { expr: `max by (account_id, endpoint_id, name) (cloudflare_gateway_proxy_endpoint_ip_ranges{${ACC}})` },
        { expr: `max by (account_id, endpoint_id, kind, subdomain) (cloudflare_gateway_proxy_endpoint_info{${ACC}})` },
      ],
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, 'Value #B': true },
            renameByName: { 'Value #A': 'CIDRs', name: 'Name', kind: 'Kind', subdomain: 'Subdomain' },
          },
        },
      ],
      w: 12,
    }),
  ],
});

const tunnelDetail = dashboard({
  uid: DETAIL_UID,
  title: 'Cloudflare Tunnels / Tunnel detail',
  description:
    'One tunnel: status, what it serves (public hostnames, private networks), its configuration version, connections per colo, pending reconnects and each connector.',
  tags: [...TAGS, 'cloudflare'],
  variables: [
    accountVar,
    {
      name: 'tunnel',
      label: 'Tunnel',
      // Selects the id and shows the name (Grafana's named groups over the query's series).
      query: `query_result(max by (tunnel_id, tunnel_name) (cloudflare_tunnel_info{${ACC}}))`,
      regex: '/tunnel_id="(?<value>[^"]+)",tunnel_name="(?<text>[^"]*)"/',
      multi: false,
    },
  ],
  panels: [
    stat({
      title: 'Status',
      description: 'Current tunnel status.',
      targets: [{ expr: tunnelStatusCode(TUN), legendFormat: '{{tunnel_name}}', instant: true }],
      mappings: TUNNEL_STATES,
    }),
    stat({
      title: 'Connectors',
      description: 'Connectors the connections endpoint lists.',
      targets: [{ expr: `sum(cloudflare_tunnel_connectors{${TUN}})`, instant: true }],
      thresholds: [
        { color: 'red', value: null },
        { color: 'orange', value: 1 },
        { color: 'green', value: 2 },
      ],
    }),
    stat({
      title: 'Connected for',
      description: 'Time since the tunnel last became connected (conns_active_at).',
      unit: 's',
      targets: [{ expr: `time() - max(cloudflare_tunnel_connected_since_timestamp_seconds{${TUN}})`, instant: true }],
    }),
    stat({
      title: 'Status changes (24h)',
      description: 'Status changes observed by the exporter in the last 24 hours.',
      targets: [{ expr: `sum(increase(cloudflare_tunnel_status_transitions_total{${TUN}}[24h]))`, instant: true }],
      decimals: 0,
    }),
    stat({
      title: 'Configuration version',
      description: "The version of the tunnel's remote configuration, as last read (remotely managed tunnels only).",
      targets: [{ expr: `max(cloudflare_tunnel_config_version{${TUN}})`, instant: true }],
      decimals: 0,
    }),
    stat({
      title: 'Connectors on an old configuration',
      description: 'Connectors holding connections that report an older configuration version than the tunnel: they serve the old ingress rules.',
      targets: [
        {
          expr: `sum(cloudflare_tunnel_connector_config_drift{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
          instant: true,
        },
      ],
      thresholds: [
        { color: 'green', value: null },
        { color: 'orange', value: 1 },
      ],
      decimals: 0,
    }),
    row('What it serves'),
    table({
      title: 'Public hostnames',
      description: "The hostnames of the tunnel's ingress rules (remotely managed tunnels; a locally managed tunnel's ingress lives in its config.yml).",
      targets: [{ expr: `max by (hostname, path) (cloudflare_tunnel_ingress_info{${TUN}})`, instant: true }],
      transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true }, renameByName: { hostname: 'Hostname', path: 'Path' } } }],
      w: 12,
    }),
    table({
      title: 'Private networks and hostnames',
      description: 'The private network routes (with their virtual network) and hostname routes that lead to this tunnel.',
      targets: [
        {
          expr: `max by (network, virtual_network, comment) (cloudflare_tunnel_route_info{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
          instant: true,
        },
      ],
      transformations: [
        {
          id: 'organize',
          options: { excludeByName: { Time: true, Value: true }, renameByName: { network: 'Network', virtual_network: 'Virtual network', comment: 'Comment' } },
        },
      ],
      w: 12,
    }),
    row('Connections'),
    timeseries({
      title: 'Active connections per colo',
      description: 'Connections held now, per Cloudflare colo.',
      targets: [{ expr: `sum by (colo) (cloudflare_tunnel_connections{${TUN}})`, legendFormat: '{{colo}}' }],
    }),
    timeseries({
      title: 'Pending reconnects per colo',
      description: 'Derived by the exporter: connections that dropped and have not been replaced, in the colo they were in.',
      targets: [{ expr: `sum by (colo) (cloudflare_tunnel_pending_reconnect_connections{${TUN}})`, legendFormat: '{{colo}}' }],
    }),
    timeseries({
      title: 'Reconnects per colo',
      description: 'Derived by the exporter: dropped connections replaced by a new one, counted in the colo of the dropped one.',
      targets: [{ expr: `sum by (colo) (increase(cloudflare_tunnel_connection_reconnects_total{${TUN}}[$__rate_interval]))`, legendFormat: '{{colo}}' }],
    }),
    timeseries({
      title: 'Missing connections per connector',
      description:
        'Derived by the exporter, from the first read: what the connector should hold (CLOUDFLARED_HA_CONNECTIONS, 4 by default, or learned) minus what it holds now; 0 for a connector a newer one replaced.',
      targets: [{ expr: `max by (connector_id) (cloudflare_tunnel_connector_missing_connections{${TUN}})`, legendFormat: '{{connector_id}}' }],
    }),
    timeseries({
      title: 'Connector restarts',
      description:
        'Derived by the exporter: a new connector (cloudflared makes a new id at every start) took over from one that emptied or left the list. About one a day per connector is the auto-update; several an hour is a crash loop.',
      targets: [{ expr: `sum (increase(cloudflare_tunnel_connector_replacements_total{${TUN}}[$__rate_interval]))`, legendFormat: 'restarts' }],
    }),
    row('Connectors'),
    table({
      title: 'Connectors',
      description: 'Each connector (cloudflared or WARP Connector process) of the tunnel.',
      targets: [
        {
          expr: `max by (connector_id, version, arch, origin_ip) (cloudflare_tunnel_connector_info{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
        },
        {
          expr: `max by (connector_id) (cloudflare_tunnel_connector_active_connections{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
        },
        {
          expr: `max by (connector_id) (cloudflare_tunnel_connector_config_version{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
        },
        {
          expr: `time() - max by (connector_id) (cloudflare_tunnel_connector_started_timestamp_seconds{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
        },
        {
          expr: `max by (connector_id) (cloudflare_tunnel_connector_config_drift{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
        },
      ],
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, 'Value #A': true },
            renameByName: {
              connector_id: 'Connector',
              version: 'Version',
              arch: 'Arch',
              origin_ip: 'Origin IP',
              'Value #B': 'Active connections',
              'Value #C': 'Config version',
              'Value #D': 'Uptime',
              'Value #E': 'Old configuration',
            },
          },
        },
      ],
      overrides: [{ matcher: { id: 'byName', options: 'Uptime' }, properties: [{ id: 'unit', value: 's' }] }],
    }),
    timeseries({
      title: 'Active connections per connector',
      description: 'A connector at 0 next to others with connections is stale (e.g. left behind by a token rotation).',
      targets: [
        {
          expr: `max by (connector_id) (cloudflare_tunnel_connector_active_connections{${ACC}} * on (account_id, tunnel_id) group_left (tunnel_name) max by (account_id, tunnel_id, tunnel_name) (cloudflare_tunnel_info{${TUN}}))`,
          legendFormat: '{{connector_id}}',
        },
      ],
      w: 24,
    }),
  ],
});

const ORG = 'organization_id=~"$organization_id"';

const proxyRecords = dashboard({
  uid: 'posthog-proxy-records',
  title: 'PostHog / Managed reverse proxy records',
  description: 'PostHog managed reverse proxy records: status, age of the last change, plan usage.',
  tags: [...TAGS, 'posthog'],
  variables: [{ name: 'organization_id', label: 'Organization', query: 'label_values(posthog_proxy_record_info, organization_id)' }],
  panels: [
    ...['valid', 'erroring', 'timed_out', 'warning'].map((status) =>
      stat({
        title: `Records ${status}`,
        description: `Proxy records whose status is ${status}.`,
        targets: [{ expr: `count(posthog_proxy_record_status{${ORG},status="${status}"} == 1) or vector(0)`, legendFormat: status, instant: true }],
        thresholds: [
          { color: status === 'valid' ? 'green' : 'text', value: null },
          ...(status === 'valid' ? [] : [{ color: status === 'warning' ? 'orange' : 'red', value: 1 }]),
        ],
      }),
    ),
    stateTimeline({
      title: 'Status timeline',
      description: "Each record's status over time.",
      targets: [{ expr: recordStatusCode(ORG), legendFormat: '{{domain}}' }],
      mappings: RECORD_MAPPINGS,
    }),
    table({
      title: 'Records',
      description: 'Every proxy record with its status, target CNAME and time since its last change.',
      targets: [
        { expr: `max by (organization_id, record_id, domain, status) (posthog_proxy_record_status{${ORG}} == 1)` },
        { expr: `max by (organization_id, record_id, target_cname) (posthog_proxy_record_info{${ORG}})` },
        { expr: `time() - max by (organization_id, record_id) (posthog_proxy_record_updated_timestamp_seconds{${ORG}})` },
      ],
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true, 'Value #A': true, 'Value #B': true },
            renameByName: {
              domain: 'Domain',
              status: 'Status',
              target_cname: 'Target CNAME',
              'Value #C': 'Since last change',
              organization_id: 'Organization',
              record_id: 'Record ID',
            },
          },
        },
      ],
      overrides: [{ matcher: { id: 'byName', options: 'Since last change' }, properties: [{ id: 'unit', value: 's' }] }],
    }),
    barGauge({
      title: 'Records used of plan maximum',
      description: 'Proxy records per organization against max_proxy_records.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      targets: [
        {
          expr: `count by (organization_id) (posthog_proxy_record_info{${ORG}}) / on (organization_id) posthog_proxy_records_max{${ORG}}`,
          legendFormat: '{{organization_id}}',
          instant: true,
        },
      ],
      thresholds: [
        { color: 'green', value: null },
        { color: 'orange', value: 0.8 },
        { color: 'red', value: 1 },
      ],
    }),
    timeseries({
      title: 'Records by status',
      description: 'How many records are in each status.',
      targets: [{ expr: `sum by (status) (posthog_proxy_record_status{${ORG}})`, legendFormat: '{{status}}' }],
    }),
  ],
});

const JOB = 'job=~"$job"';

const exporterHealth = dashboard({
  uid: 'cf-tunnel-exporter-health',
  title: 'Cloudflare Tunnels / Exporter health',
  description: 'cloudflare-tunnel-exporter itself: polls, API requests and rate limits, remediation.',
  tags: [...TAGS],
  variables: [],
  panels: [
    stat({
      title: 'Up',
      description: 'Whether Prometheus can scrape the exporter.',
      targets: [{ expr: `sum(up{${JOB}})`, instant: true }],
      thresholds: [
        { color: 'red', value: null },
        { color: 'green', value: 1 },
      ],
    }),
    stat({
      title: 'Failing collectors',
      description: 'Collector and scope pairs whose last poll failed.',
      targets: [{ expr: `count(cloudflare_tunnel_exporter_collector_success{${JOB}} == 0) or vector(0)`, instant: true }],
      thresholds: [
        { color: 'green', value: null },
        { color: 'red', value: 1 },
      ],
    }),
    stat({
      title: 'Oldest data',
      description: 'Age of the oldest last successful poll.',
      unit: 's',
      targets: [{ expr: `max(time() - cloudflare_tunnel_exporter_collector_last_success_timestamp_seconds{${JOB}})`, instant: true }],
      thresholds: [
        { color: 'green', value: null },
        { color: 'orange', value: 300 },
        { color: 'red', value: 600 },
      ],
    }),
    stat({
      title: 'Cloudflare requests left',
      description: 'Requests left in the current Cloudflare rate-limit window (Ratelimit header).',
      targets: [{ expr: `min(cloudflare_tunnel_exporter_api_ratelimit_remaining{${JOB},api="cloudflare"})`, instant: true }],
      thresholds: [
        { color: 'red', value: null },
        { color: 'orange', value: 60 },
        { color: 'green', value: 300 },
      ],
    }),
    stateTimeline({
      title: 'Poll success',
      description: "Whether each collector's last poll succeeded, per account or organization.",
      targets: [{ expr: `max by (collector, scope) (cloudflare_tunnel_exporter_collector_success{${JOB}})`, legendFormat: '{{collector}} {{scope}}' }],
      mappings: statusMappings([
        { text: 'failed', color: 'red' },
        { text: 'ok', color: 'green' },
      ]),
    }),
    timeseries({
      title: 'Data age',
      description: 'Time since each collector last polled successfully.',
      unit: 's',
      targets: [
        {
          expr: `time() - max by (collector, scope) (cloudflare_tunnel_exporter_collector_last_success_timestamp_seconds{${JOB}})`,
          legendFormat: '{{collector}} {{scope}}',
        },
      ],
    }),
    timeseries({
      title: 'Cloudflare budget use',
      description:
        'Requests sent in the last 5 minutes (never above the budget), the budget (CLOUDFLARE_API_BUDGET), and what the schedules need to keep every tunnel one interval fresh. Needed above budget: connections are refreshed less often, oldest first. Needed by the list polls above budget: tunnel status is late and no connections are read.',
      targets: [
        { expr: `max(cloudflare_tunnel_exporter_api_requests_last_5m{${JOB},api="cloudflare"})`, legendFormat: 'sent (last 5m)' },
        { expr: `max(cloudflare_tunnel_exporter_api_budget_per_5m{${JOB},api="cloudflare"})`, legendFormat: 'budget' },
        { expr: `max(cloudflare_tunnel_exporter_api_requests_needed_per_5m{${JOB},api="cloudflare"})`, legendFormat: 'needed' },
        { expr: `max(cloudflare_tunnel_exporter_api_requests_scheduled_per_5m{${JOB},api="cloudflare"})`, legendFormat: 'needed by the list polls' },
      ],
    }),
    timeseries({
      title: 'Connections data age',
      description: "How long ago the tunnels' connectors were last read, per account: median and 99th percentile over the tunnels.",
      unit: 's',
      targets: [
        { expr: `max by (scope) (cloudflare_tunnel_exporter_connections_age_seconds{${JOB},quantile="0.5"})`, legendFormat: 'p50 {{scope}}' },
        { expr: `max by (scope) (cloudflare_tunnel_exporter_connections_age_seconds{${JOB},quantile="0.99"})`, legendFormat: 'p99 {{scope}}' },
      ],
    }),
    timeseries({
      title: 'Connections read queue',
      description: 'Tunnels whose connections read is due and waits for the budget, per account.',
      targets: [{ expr: `max by (scope) (cloudflare_tunnel_exporter_connections_queue{${JOB}})`, legendFormat: '{{scope}}' }],
    }),
    timeseries({
      title: 'Poll duration',
      description: "How long each collector's last poll took.",
      unit: 's',
      targets: [{ expr: `max by (collector, scope) (cloudflare_tunnel_exporter_collector_duration_seconds{${JOB}})`, legendFormat: '{{collector}} {{scope}}' }],
    }),
    timeseries({
      title: 'API requests by code',
      description: 'Requests sent per second, by API and HTTP status ("error": no response).',
      unit: 'reqps',
      targets: [
        { expr: `sum by (api, code) (rate(cloudflare_tunnel_exporter_api_requests_total{${JOB}}[$__rate_interval]))`, legendFormat: '{{api}} {{code}}' },
      ],
    }),
    timeseries({
      title: 'API latency p95',
      description: '95th percentile request latency by API and operation.',
      unit: 's',
      targets: [
        {
          expr: `histogram_quantile(0.95, sum by (le, api, operation) (rate(cloudflare_tunnel_exporter_api_request_duration_seconds_bucket{${JOB}}[$__rate_interval])))`,
          legendFormat: '{{api}} {{operation}}',
        },
      ],
    }),
    timeseries({
      title: 'Rate limit remaining',
      description: 'Requests left in the current rate-limit window, from the last Ratelimit header.',
      targets: [{ expr: `min by (api) (cloudflare_tunnel_exporter_api_ratelimit_remaining{${JOB}})`, legendFormat: '{{api}}' }],
    }),
    row('Remediation'),
    timeseries({
      title: 'Remediation actions',
      description: 'Actions decided per hour, by action and mode (dry_run sends nothing).',
      targets: [
        { expr: `sum by (action, mode) (increase(cloudflare_tunnel_exporter_remediation_actions_total{${JOB}}[1h]))`, legendFormat: '{{action}} {{mode}}' },
      ],
      w: 8,
    }),
    timeseries({
      title: 'Remediation skipped',
      description: 'Candidates not acted on per hour, by reason.',
      targets: [
        { expr: `sum by (action, reason) (increase(cloudflare_tunnel_exporter_remediation_skipped_total{${JOB}}[1h]))`, legendFormat: '{{action}} {{reason}}' },
      ],
      w: 8,
    }),
    timeseries({
      title: 'Remediation failures',
      description: 'Live actions that failed, per hour.',
      targets: [{ expr: `sum by (action) (increase(cloudflare_tunnel_exporter_remediation_action_failures_total{${JOB}}[1h]))`, legendFormat: '{{action}}' }],
      w: 8,
    }),
  ],
});

export const DASHBOARDS: Record<string, Record<string, unknown>> = {
  'fleet-overview.json': fleetOverview,
  'tunnel-detail.json': tunnelDetail,
  'proxy-records.json': proxyRecords,
  'exporter-health.json': exporterHealth,
};
