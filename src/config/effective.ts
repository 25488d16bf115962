// The effective configuration as YAML, secrets replaced (credentials in a URL too), for
// --config.check.
import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import type { Config } from './schema.js';

const REDACTED = '<redacted>';

/** A URL with any user:password@ replaced: a base URL may carry credentials. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    return url.replace(/^(https?:\/\/)[^@/]*@/, `$1${REDACTED}@`);
  } catch {
    return url;
  }
}

export function renderEffectiveConfig(config: Config): string {
  const { web, log, cloudflare, posthog, schedules, remediation } = config;
  const doc = {
    web: {
      listen_address: `${web.listen.host.includes(':') ? `[${web.listen.host}]` : web.listen.host}:${web.listen.port}`,
      telemetry_path: web.telemetryPath,
      ...(web.configFile ? { config_file: web.configFile } : {}),
    },
    log: { level: log.level, format: log.format },
    ...(cloudflare
      ? {
          cloudflare: {
            ...(cloudflare.auth.kind === 'token' ? { api_token: REDACTED } : { api_email: cloudflare.auth.email, api_key: REDACTED }),
            account_ids: cloudflare.accountIds,
            api_base_url: redactUrl(cloudflare.baseUrl),
            api_budget: cloudflare.budget,
            account_limits: Object.entries(config.accountLimits)
              .map(([resource, limit]) => `${resource}=${limit}`)
              .join(','),
          },
        }
      : {}),
    ...(posthog ? { posthog: { api_key: REDACTED, organization_ids: posthog.organizationIds, api_base_url: redactUrl(posthog.baseUrl) } } : {}),
    schedules: {
      tunnels: schedules.tunnels,
      gateway: schedules.gateway,
      proxy_records: schedules.proxyRecords,
      configurations: schedules.configurations,
      routes: schedules.routes,
    },
    sharding: { total_shards: config.sharding.total, shard: config.sharding.shard },
    cloudflared: { ha_connections: config.haConnections },
    stale_data_max_age: formatDuration(config.staleDataMaxAgeMs),
    remediation: {
      stale_connectors: remediation.staleConnectors,
      proxy_records: remediation.proxyRecords,
      proxy_record_retry_method: remediation.proxyRecordRetryMethod,
      stale_connector_after: formatDuration(remediation.staleConnectorAfterMs),
      cooldown: formatDuration(remediation.cooldownMs),
      max_actions_per_hour: remediation.maxActionsPerHour,
      ...(remediation.stateFile ? { state_file: remediation.stateFile } : {}),
    },
  };
  return stringify(doc);
}
