// Every setting in one place: its YAML key, environment variable, flag, default, documentation and
// the zod schema that validates and converts it. The loader layers values; this file decides what
// a value means. docs/configuration.md and --help are written from this list (`npm run generate`).
import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { ACCOUNT_RESOURCES, type AccountLimits, DOCUMENTED_LIMITS } from '../domain/types.js';
import { parseDuration } from './duration.js';

export const REMEDIATION_MODES = ['off', 'dry-run', 'on'] as const;
export type RemediationMode = (typeof REMEDIATION_MODES)[number];

/** How a failed proxy record is repaired: PostHog's retry/ action, or delete and create again. */
export const PROXY_RECORD_RETRY_METHODS = ['retry', 'recreate'] as const;
export type ProxyRecordRetryMethod = (typeof PROXY_RECORD_RETRY_METHODS)[number];

/** A value as it arrives: text from the environment or a flag, or any YAML scalar or list. */
type Raw = unknown;

const text = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((v) => String(v).trim())
  .pipe(z.string().min(1, 'must not be empty'));

/** No duration setting means anything past a year; larger values are typos (or overflow). */
const MAX_DURATION_MS = 365 * 86_400_000;

const duration = text.transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a duration like 30s, 10m or 1h, got "${v}"` });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `must be at most 365d, got "${v}"` });
    return z.NEVER;
  }
  return ms;
});

const positiveInt = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v).trim();
  if (!/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) {
    ctx.addIssue({ code: 'custom', message: `must be a positive whole number, got "${s}"` });
    return z.NEVER;
  }
  return Number(s);
});

const wholeNumber = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v).trim();
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    ctx.addIssue({ code: 'custom', message: `must be a whole number (0 or more), got "${s}"` });
    return z.NEVER;
  }
  return Number(s);
});

/** The six fields of a cron expression with seconds, and the largest step each can mean. */
const CRON_FIELDS: [string, number][] = [
  ['seconds', 59],
  ['minutes', 59],
  ['hours', 23],
  ['day-of-month', 31],
  ['month', 12],
  ['day-of-week', 7],
];

/** A cron expression with seconds as node-cron reads it, and only what cron means; z.NEVER (with the issue added) otherwise. */
function checkCron(v: string, ctx: z.RefinementCtx): string {
  const fields = v.split(/\s+/);
  if (fields.length !== 6) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a cron expression with 6 fields (seconds first), got "${v}"`,
    });
    return z.NEVER;
  }
  // node-cron accepts a step past its field's range (`*/90` seconds) and then runs once a minute.
  for (const [i, field] of fields.entries()) {
    const [name, most] = CRON_FIELDS[i] as [string, number];
    for (const step of field.matchAll(/\/(\d+)/g)) {
      if (Number(step[1]) > most) {
        ctx.addIssue({ code: 'custom', message: `step ${step[1]} is larger than the ${name} field allows (at most ${most}), in "${v}"` });
        return z.NEVER;
      }
    }
  }
  const result = validateDetailed(v);
  if (!result.valid) {
    const why = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    ctx.addIssue({ code: 'custom', message: `is not a valid cron expression "${v}" (${why})` });
    return z.NEVER;
  }
  return v;
}

const cron = text.transform(checkCron);

/** A schedule a source can be turned off with: `off`, or a cron expression. */
const cronOrOff = text.transform((v, ctx) => (v === 'off' ? v : checkCron(v, ctx)));

const list = z.union([z.string(), z.array(z.unknown())]).transform((v, ctx) => {
  // YAML reads an unquoted all-digit id as a number and may round it: ask for quotes instead.
  if (Array.isArray(v) && v.some((item) => typeof item !== 'string')) {
    ctx.addIssue({ code: 'custom', message: 'ids must be strings: quote them in YAML' });
    return z.NEVER;
  }
  const items = (Array.isArray(v) ? (v as string[]) : v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one id' });
    return z.NEVER;
  }
  for (const item of items) {
    if (!/^[A-Za-z0-9_-]+$/.test(item)) {
      ctx.addIssue({ code: 'custom', message: `contains an invalid id "${item}"` });
      return z.NEVER;
    }
  }
  return [...new Set(items)];
});

/** Cloudflare account ids: 32 lowercase hex characters (a name or a zone id is refused here, not by a 404 later). */
const accountIds = list.transform((ids, ctx) => {
  const wrong = ids.filter((id) => !/^[0-9a-f]{32}$/.test(id));
  if (wrong.length > 0) {
    const named = wrong.map((id) => `"${id}"`).join(' and ');
    ctx.addIssue({
      code: 'custom',
      message: `${named} ${wrong.length === 1 ? 'is not a Cloudflare account id' : 'are not Cloudflare account ids'}: an account id is 32 lowercase hex characters, as in the dashboard's URL (dash.cloudflare.com/<account id>) or \`wrangler whoami\``,
    });
    return z.NEVER;
  }
  return ids;
});

/** `resource=limit,…`: raised account limits; the resources not named keep Cloudflare's documented ones. */
const accountLimits = text.transform((v, ctx): AccountLimits => {
  const limits: Record<string, number> = { ...DOCUMENTED_LIMITS };
  for (const part of v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, value, extra] = part.split('=').map((p) => p.trim());
    if (!name || !(ACCOUNT_RESOURCES as readonly string[]).includes(name)) {
      ctx.addIssue({ code: 'custom', message: `names an unknown resource "${name ?? part}" (one of ${ACCOUNT_RESOURCES.join(', ')})` });
      return z.NEVER;
    }
    if (extra !== undefined || !value || !/^\d+$/.test(value) || Number(value) < 1) {
      ctx.addIssue({ code: 'custom', message: `must be resource=limit with a positive whole number, got "${part}"` });
      return z.NEVER;
    }
    limits[name] = Number(value);
  }
  return limits as AccountLimits;
});

/** A URL as a message may show it: a user and password, if any, as `***`. */
const withoutUserinfo = (v: string) => v.replace(/\/\/[^/?#]*@/, '//***@');

const url = text.transform((v, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an http(s) URL, got "${withoutUserinfo(v)}"` });
    return z.NEVER;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must be an http(s) URL, got "${withoutUserinfo(v)}"` });
    return z.NEVER;
  }
  return v.replace(/\/+$/, '');
});

const listenAddress = text.transform((v, ctx) => {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `must be [host]:port, like :9877 or 127.0.0.1:9877, got "${v}"` });
    return z.NEVER;
  }
  return { host: match[1] ?? match[2] ?? '', port };
});

const telemetryPath = text.refine((v) => v.startsWith('/') && v.length > 1 && !v.startsWith('/-/'), {
  message: 'must be a path starting with / (and not under /-/)',
});

const mode = text.pipe(z.enum(REMEDIATION_MODES, { error: (i) => `must be one of off, dry-run, on, got "${String(i.input)}"` }));

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  text.pipe(z.enum(values, { error: (i) => `must be one of ${values.join(', ')}, got "${String(i.input)}"` }));

export interface Setting {
  /** Dotted YAML path. */
  key: string;
  env?: string;
  flag?: string;
  default?: string;
  doc: string;
  schema: z.ZodType<unknown, Raw>;
}

export const SETTINGS = [
  { key: 'web.listen_address', env: 'LISTEN_ADDRESS', flag: 'web.listen-address', default: ':9877', doc: 'Address to serve HTTP on.', schema: listenAddress },
  { key: 'web.telemetry_path', flag: 'web.telemetry-path', default: '/metrics', doc: 'Path under which metrics are served.', schema: telemetryPath },
  { key: 'web.config_file', env: 'WEB_CONFIG_FILE', flag: 'web.config.file', doc: 'exporter-toolkit web config: TLS and bcrypt basic auth.', schema: text },
  {
    key: 'log.level',
    env: 'LOG_LEVEL',
    flag: 'log.level',
    default: 'info',
    doc: 'debug, info, warn or error.',
    schema: oneOf(['debug', 'info', 'warn', 'error'] as const),
  },
  { key: 'log.format', env: 'LOG_FORMAT', flag: 'log.format', default: 'json', doc: 'json or logfmt.', schema: oneOf(['json', 'logfmt'] as const) },
  { key: 'cloudflare.api_token', env: 'CLOUDFLARE_API_TOKEN', doc: 'API token (Cloudflare Tunnel Read, Zero Trust Read).', schema: text },
  { key: 'cloudflare.api_token_file', env: 'CLOUDFLARE_API_TOKEN_FILE', doc: 'File holding the API token.', schema: text },
  { key: 'cloudflare.api_email', env: 'CLOUDFLARE_API_EMAIL', doc: 'Legacy auth: account email (with CLOUDFLARE_API_KEY).', schema: text },
  { key: 'cloudflare.api_key', env: 'CLOUDFLARE_API_KEY', doc: 'Legacy auth: global API key.', schema: text },
  { key: 'cloudflare.account_ids', env: 'CLOUDFLARE_ACCOUNT_IDS', doc: 'Comma list of account ids (32 hex characters each).', schema: accountIds },
  {
    key: 'cloudflare.api_base_url',
    env: 'CLOUDFLARE_API_BASE_URL',
    default: 'https://api.cloudflare.com/client/v4',
    doc: 'Cloudflare API base URL.',
    schema: url,
  },
  {
    key: 'cloudflare.api_budget',
    env: 'CLOUDFLARE_API_BUDGET',
    default: '300',
    doc: "Requests per 5 minutes this exporter may spend: a share of CLOUDFLARE_API_LIMIT, which the user's dashboard, Terraform and other tokens share too.",
    schema: positiveInt,
  },
  {
    key: 'cloudflare.account_limits',
    env: 'CLOUDFLARE_ACCOUNT_LIMITS',
    doc: `Raised account limits, as resource=limit pairs (e.g. cfd_tunnels=2000,routes=5000); the others stay at what Cloudflare documents: ${ACCOUNT_RESOURCES.map((r) => `${r} ${DOCUMENTED_LIMITS[r]}`).join(', ')}.`,
    schema: accountLimits,
  },
  {
    key: 'cloudflare.api_limit',
    env: 'CLOUDFLARE_API_LIMIT',
    default: '1200',
    doc: "Requests Cloudflare allows the credential's user per 5 minutes (1200, unless Cloudflare raised it): CLOUDFLARE_API_BUDGET is a share of it, and may not exceed it.",
    schema: positiveInt,
  },
  { key: 'posthog.api_key', env: 'POSTHOG_API_KEY', doc: 'Personal API key (organization:read).', schema: text },
  { key: 'posthog.api_key_file', env: 'POSTHOG_API_KEY_FILE', doc: 'File holding the personal API key.', schema: text },
  { key: 'posthog.organization_ids', env: 'POSTHOG_ORGANIZATION_IDS', doc: 'Comma list of organization ids.', schema: list },
  {
    key: 'posthog.api_base_url',
    env: 'POSTHOG_API_BASE_URL',
    default: 'https://us.posthog.com',
    doc: 'PostHog base URL (us, eu or self-hosted).',
    schema: url,
  },
  {
    key: 'sharding.total_shards',
    env: 'TOTAL_SHARDS',
    flag: 'total-shards',
    default: '1',
    doc: 'How many shards share the accounts and organizations. Each is owned by one shard (rendezvous hashing of its id); with more than one, the default CLOUDFLARE_API_BUDGET is divided among the shards, since they share the token.',
    schema: positiveInt,
  },
  {
    key: 'sharding.shard',
    env: 'SHARD',
    flag: 'shard',
    doc: "This process's shard, 0 to TOTAL_SHARDS - 1 (default 0, or the pod name's ordinal).",
    schema: wholeNumber,
  },
  {
    key: 'sharding.pod_name',
    env: 'POD_NAME',
    flag: 'shard.from-pod-name',
    doc: "A StatefulSet pod's name: its ordinal suffix (exporter-2 is 2) is the shard, unless SHARD is set. Read only when TOTAL_SHARDS is above 1.",
    schema: text,
  },
  { key: 'schedules.tunnels', env: 'TUNNELS_SCHEDULE', default: '*/30 * * * * *', doc: 'Cron (with seconds) for tunnels and connections.', schema: cron },
  { key: 'schedules.gateway', env: 'GATEWAY_SCHEDULE', default: '0 */5 * * * *', doc: 'Cron for Gateway proxy endpoints.', schema: cron },
  { key: 'schedules.proxy_records', env: 'PROXY_RECORDS_SCHEDULE', default: '0 * * * * *', doc: 'Cron for PostHog proxy records.', schema: cron },
  {
    key: 'schedules.configurations',
    env: 'CONFIGURATIONS_SCHEDULE',
    default: '0 0 * * * *',
    doc: "Cron for the slow re-read of every tunnel's configuration (remotely managed cfd_tunnel ingress and version, WARP Connector ha_mode); a configuration is also read when its tunnel is first listed and when a connector reports a version the exporter has not read. off turns the source off.",
    schema: cronOrOff,
  },
  {
    key: 'schedules.routes',
    env: 'ROUTES_SCHEDULE',
    default: '0 */5 * * * *',
    doc: 'Cron for private network routes and hostname routes (one list each per account). off turns both off.',
    schema: cronOrOff,
  },
  {
    key: 'cloudflared.ha_connections',
    env: 'CLOUDFLARED_HA_CONNECTIONS',
    flag: 'cloudflared.ha-connections',
    default: '4',
    doc: "The connections a cfd_tunnel connector should hold (cloudflared's --ha-connections, 4 by default); fewer shows in connector_missing_connections from the first read. 0 learns each connector's count from what it held recently (WARP connectors always learn).",
    schema: wholeNumber,
  },
  { key: 'stale_data_max_age', env: 'STALE_DATA_MAX_AGE', default: '10m', doc: 'How long series outlive a failing source.', schema: duration },
  { key: 'remediation.stale_connectors', env: 'REMEDIATE_STALE_CONNECTORS', default: 'off', doc: 'off, dry-run or on.', schema: mode },
  { key: 'remediation.proxy_records', env: 'REMEDIATE_PROXY_RECORDS', default: 'off', doc: 'off, dry-run or on.', schema: mode },
  {
    key: 'remediation.proxy_record_retry_method',
    env: 'PROXY_RECORD_RETRY_METHOD',
    flag: 'remediation.proxy-record-retry-method',
    default: 'recreate',
    doc: "recreate (journaled DELETE + create of the same domain: organization:write and an organization admin's key; needs REMEDIATION_STATE_FILE) or retry (POST retry/, which PostHog refuses to every API key).",
    schema: oneOf(PROXY_RECORD_RETRY_METHODS),
  },
  {
    key: 'remediation.stale_connector_after',
    env: 'STALE_CONNECTOR_AFTER',
    default: '15m',
    doc: 'How long a connector must be without active connections.',
    schema: duration,
  },
  { key: 'remediation.cooldown', env: 'REMEDIATION_COOLDOWN', default: '1h', doc: 'Minimum time between two actions on one target.', schema: duration },
  { key: 'remediation.max_actions_per_hour', env: 'REMEDIATION_MAX_ACTIONS_PER_HOUR', default: '10', doc: 'All actions together.', schema: positiveInt },
  { key: 'remediation.state_file', env: 'REMEDIATION_STATE_FILE', doc: 'Where cooldowns and attempts survive restarts.', schema: text },
] as const satisfies readonly Setting[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

export interface ListenAddress {
  host: string;
  port: number;
}

export type CloudflareAuth = { kind: 'token'; token: string } | { kind: 'key'; email: string; key: string };

export interface CloudflareConfig {
  auth: CloudflareAuth;
  /** The accounts this shard owns (all of them when unsharded). */
  accountIds: string[];
  baseUrl: string;
  budget: number;
}

export interface PostHogConfig {
  apiKey: string;
  organizationIds: string[];
  baseUrl: string;
}

export interface Config {
  web: { listen: ListenAddress; telemetryPath: string; configFile?: string };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; format: 'json' | 'logfmt' };
  cloudflare?: CloudflareConfig;
  posthog?: PostHogConfig;
  /** `configurations` and `routes` are `off` when those sources are turned off. */
  schedules: { tunnels: string; gateway: string; proxyRecords: string; configurations: string; routes: string };
  /** This process's shard of `total`; the accounts and organizations above are the ones it owns. */
  sharding: { shard: number; total: number };
  /** CLOUDFLARE_ACCOUNT_LIMITS over the documented limits. */
  accountLimits: AccountLimits;
  /** CLOUDFLARED_HA_CONNECTIONS: what a cfd_tunnel connector should hold; 0 learns it. */
  haConnections: number;
  staleDataMaxAgeMs: number;
  remediation: {
    staleConnectors: RemediationMode;
    proxyRecords: RemediationMode;
    proxyRecordRetryMethod: ProxyRecordRetryMethod;
    staleConnectorAfterMs: number;
    cooldownMs: number;
    maxActionsPerHour: number;
    stateFile?: string;
  };
  demo: boolean;
}
