// The effective configuration as YAML, secrets replaced, for --config.check and the landing page.
import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import type { Config } from './schema.js';

const REDACTED = '<redacted>';

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
            ...(cloudflare.auth.kind === 'token'
              ? { api_token: REDACTED }
              : { api_email: cloudflare.auth.email, api_key: REDACTED }),
            account_ids: cloudflare.accountIds,
            api_base_url: cloudflare.baseUrl,
            api_budget: cloudflare.budget,
          },
        }
      : {}),
    ...(posthog
      ? { posthog: { api_key: REDACTED, organization_ids: posthog.organizationIds, api_base_url: posthog.baseUrl } }
      : {}),
    schedules: { tunnels: schedules.tunnels, gateway: schedules.gateway, proxy_records: schedules.proxyRecords },
    stale_data_max_age: formatDuration(config.staleDataMaxAgeMs),
    remediation: {
      stale_connectors: remediation.staleConnectors,
      proxy_records: remediation.proxyRecords,
      stale_connector_after: formatDuration(remediation.staleConnectorAfterMs),
      cooldown: formatDuration(remediation.cooldownMs),
      max_actions_per_hour: remediation.maxActionsPerHour,
      ...(remediation.stateFile ? { state_file: remediation.stateFile } : {}),
    },
  };
  return stringify(doc);
}
