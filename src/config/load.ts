// Builds the effective configuration from defaults < YAML file < environment < flags, validates
// every value with the schema in ./schema.ts and reports every problem at once.
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { type AccountLimits, DOCUMENTED_LIMITS } from '../domain/types.js';
import { type Config, SETTINGS, type Setting, type SettingKey } from './schema.js';
import { ordinalOf, shardOf } from './shard.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  argv: string[];
  env: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

export interface LoadResult {
  config: Config;
  /** --config.check: validate, print the redacted effective config and exit. */
  check: boolean;
}

// --help and --version are answered by cli.ts before configuration is read; they are accepted
// here so they never count as unknown flags.

/**
 * Schedules for --demo unless the user set their own: the simulator's fleet moves every 5 s, and
 * pending reconnects are derived from successive polls, so tunnels are polled every 10 s.
 */
const DEMO_SCHEDULES = {
  'schedules.tunnels': '*/10 * * * * *',
  'schedules.gateway': '*/30 * * * * *',
  'schedules.proxy_records': '*/5 * * * * *',
  'schedules.routes': '*/15 * * * * *',
  'schedules.configurations': '0 */5 * * * *',
} as const;

const BOOLEAN_FLAGS = ['config.check', 'demo', 'help', 'version'] as const;
type BooleanFlag = (typeof BOOLEAN_FLAGS)[number];

/**
 * Settings that are given together: the highest layer that sets any of them owns the whole group,
 * so a token in the environment replaces a token file named in YAML instead of clashing with it.
 */
const GROUPS: SettingKey[][] = [
  ['cloudflare.api_token', 'cloudflare.api_token_file', 'cloudflare.api_email', 'cloudflare.api_key'],
  ['posthog.api_key', 'posthog.api_key_file'],
];

interface Value {
  raw: unknown;
  origin: string;
}

type Layer = Map<SettingKey, Value>;

const BY_KEY = new Map<string, Setting>(SETTINGS.map((s) => [s.key, s]));
const BY_FLAG = new Map<string, Setting>(SETTINGS.filter((s): s is (typeof SETTINGS)[number] & { flag: string } => 'flag' in s).map((s) => [s.flag, s]));

/** Defaults < YAML file < environment < flags, merged; what cannot be read is added to `problems`. */
function resolveLayers(options: LoadOptions, problems: string[]) {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const { flags, booleans, configFile } = parseArgv(options.argv, problems);
  const defaults: Layer = new Map();
  for (const s of SETTINGS as readonly Setting[]) {
    if (s.default !== undefined) defaults.set(s.key as SettingKey, { raw: s.default, origin: `default for ${describe(s)}` });
  }
  if (booleans.demo) {
    for (const [key, raw] of Object.entries(DEMO_SCHEDULES)) {
      defaults.set(key as SettingKey, { raw, origin: `--demo default for ${key}` });
    }
  }
  const filePath = configFile ?? nonEmpty(options.env.CONFIG_FILE);
  const fileLayer: Layer = filePath ? readYamlLayer(filePath, readFile, problems) : new Map();
  const envLayer: Layer = new Map();
  for (const s of SETTINGS as readonly Setting[]) {
    if (!s.env) continue;
    const raw = options.env[s.env];
    if (raw !== undefined && raw !== '') envLayer.set(s.key as SettingKey, { raw, origin: s.env });
  }
  return { merged: mergeLayers([defaults, fileLayer, envLayer, flags]), booleans, readFile };
}

/** Each merged value parsed with its setting's schema, in SETTINGS order (so problems read the same every time). */
function parseValues(merged: Layer, problems: string[], only?: ReadonlySet<SettingKey>): Map<SettingKey, unknown> {
  const values = new Map<SettingKey, unknown>();
  for (const setting of SETTINGS as readonly Setting[]) {
    const key = setting.key as SettingKey;
    const value = merged.get(key);
    if (!value || (only && !only.has(key))) continue;
    const result = setting.schema.safeParse(value.raw);
    if (result.success) values.set(key, result.data);
    else for (const issue of result.error.issues) problems.push(`${value.origin}: ${issue.message}`);
  }
  return values;
}

export function loadConfig(options: LoadOptions): LoadResult {
  const problems: string[] = [];
  const { merged, booleans, readFile } = resolveLayers(options, problems);
  const values = parseValues(merged, problems);
  const config = assemble(values, merged, readFile, problems, booleans.demo);
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, check: booleans['config.check'] };
}

/**
 * Only where the daemon listens and its web config file, resolved exactly as loadConfig does
 * (flags, environment, YAML file): the container health check asks the same address. Problems
 * with other settings are not its business; these two must be valid.
 */
export function loadListenSettings(options: LoadOptions): { listen: Config['web']['listen']; webConfigFile?: string } {
  const problems: string[] = [];
  const { merged } = resolveLayers(options, []);
  const values = parseValues(merged, problems, new Set<SettingKey>(['web.listen_address', 'web.config_file']));
  if (problems.length > 0) throw new ConfigError(problems);
  const webConfigFile = values.get('web.config_file') as string | undefined;
  return { listen: values.get('web.listen_address') as Config['web']['listen'], ...(webConfigFile ? { webConfigFile } : {}) };
}

function describe(s: Setting): string {
  return s.env ?? (s.flag ? `--${s.flag}` : s.key);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseBoolean(text: string): boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return undefined;
}

function parseArgv(argv: string[], problems: string[]) {
  const flags: Layer = new Map();
  const booleans: Record<BooleanFlag, boolean> = { 'config.check': false, demo: false, help: false, version: false };
  let configFile: string | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') {
      booleans.help = true;
      continue;
    }
    const match = /^--([a-z][a-z0-9.-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const name = match[1] as string;
    const inline = match[2];
    if ((BOOLEAN_FLAGS as readonly string[]).includes(name)) {
      const parsed = inline === undefined ? true : parseBoolean(inline);
      if (parsed === undefined) problems.push(`--${name}: must be true or false, got "${inline}"`);
      else booleans[name as BooleanFlag] = parsed;
      continue;
    }
    if (name !== 'config.file' && !BY_FLAG.has(name)) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`--${name}: needs a value`);
        continue;
      }
      value = next;
      i++;
    }
    const key = name === 'config.file' ? undefined : ((BY_FLAG.get(name) as Setting).key as SettingKey);
    const before = key === undefined ? configFile : (flags.get(key)?.raw as string | undefined);
    if (before !== undefined) {
      // exporter-toolkit listens on each repeated address; this exporter has one of each, so say so rather than drop one.
      problems.push(`--${name}: given twice ("${before}", "${value}"); the exporter takes one value, give it once`);
      continue;
    }
    if (key === undefined) configFile = value;
    else flags.set(key, { raw: value, origin: `--${name}` });
  }
  return { flags, booleans, configFile };
}

function readYamlLayer(path: string, readFile: (p: string) => string, problems: string[]): Layer {
  const layer: Layer = new Map();
  let source: string;
  try {
    source = readFile(path);
  } catch (err) {
    problems.push(`config file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return layer;
  }
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push(`config file ${path}: ${e.message.split('\n')[0]}`);
    return layer;
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return layer;
  walkYaml(root, '', path, layer, problems);
  return layer;
}

const SECTIONS = new Set(SETTINGS.filter((s) => s.key.includes('.')).map((s) => s.key.split('.')[0] as string));

function walkYaml(node: unknown, prefix: string, path: string, layer: Layer, problems: string[]): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    problems.push(`config file ${path}: ${prefix === '' ? 'the document' : `key ${prefix}`} must be a mapping`);
    return;
  }
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (prefix === '' && SECTIONS.has(name)) {
      walkYaml(value, key, path, layer, problems);
    } else if (BY_KEY.has(key)) {
      if (value === null || value === undefined) continue;
      layer.set(key as SettingKey, { raw: value, origin: `config file ${path}: ${key}` });
    } else {
      problems.push(`config file ${path}: unknown key "${key}"`);
    }
  }
}

function mergeLayers(layers: Layer[]): Layer {
  const merged: Layer = new Map();
  for (const layer of layers) {
    for (const group of GROUPS) {
      if (group.some((k) => layer.has(k))) for (const k of group) merged.delete(k);
    }
    for (const [k, v] of layer) merged.set(k, v);
  }
  return merged;
}

/**
 * Why a credential cannot go into an HTTP header, if it cannot: every request would fail later
 * (undici refuses the header), so the configuration check says so now. Never quotes the value.
 */
function headerProblem(value: string): string | undefined {
  const codes = [...value].map((c) => c.codePointAt(0) ?? 0);
  if (codes.some((c) => c < 0x20 || c === 0x7f))
    return 'contains a line break or another control character inside the secret (only surrounding whitespace is trimmed)';
  if (codes.some((c) => c > 0x7e)) return 'contains a character outside printable ASCII, which an HTTP header cannot carry';
  return undefined;
}

/** The secret, undefined when not configured, or null when configured but unusable (a problem was recorded). */
function readSecret(
  values: Map<SettingKey, unknown>,
  merged: Layer,
  direct: SettingKey,
  file: SettingKey,
  readFile: (p: string) => string,
  problems: string[],
): string | undefined | null {
  const inline = values.get(direct) as string | undefined;
  const path = values.get(file) as string | undefined;
  if (inline !== undefined && path !== undefined) {
    problems.push(`${merged.get(direct)?.origin} and ${merged.get(file)?.origin}: set only one of them`);
    return null;
  }
  const usable = (secret: string, origin: string | undefined) => {
    const problem = headerProblem(secret);
    if (!problem) return secret;
    problems.push(`${origin}: ${problem}`);
    return null;
  };
  if (path === undefined) return inline === undefined ? undefined : usable(inline, merged.get(direct)?.origin);
  try {
    const secret = readFile(path).trim();
    if (secret === '') {
      problems.push(`${merged.get(file)?.origin}: file ${path} is empty`);
      return null;
    }
    return usable(secret, `${merged.get(file)?.origin} (file ${path})`);
  } catch (err) {
    problems.push(`${merged.get(file)?.origin}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return null;
  }
}

/**
 * Whether the remediation state file can be written where it is configured: it must not be a
 * folder, and its folder must exist and take a new file (checked by writing one and removing it;
 * permissions alone say nothing when running as root). Checked with the configuration, so
 * --config.check and start-up say what is wrong instead of every action failing later.
 */
function stateFileProblem(path: string): string | undefined {
  const folder = dirname(resolve(path));
  try {
    if (statSync(path).isDirectory()) return `${path} is a folder; name a file in it, e.g. ${join(path, 'remediation-state.json')}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `${path} cannot be read (${(err as NodeJS.ErrnoException).code})`;
  }
  try {
    if (!statSync(folder).isDirectory()) return `${folder} is not a folder`;
  } catch (err) {
    return `the folder ${folder} does not exist (${(err as NodeJS.ErrnoException).code})`;
  }
  const probe = join(folder, `.cloudflare-tunnel-exporter-write-check-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    return `the folder ${folder} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)}); the state file is written there`;
  }
  return undefined;
}

/** What the parts of assemble() share: the parsed values, where each came from, the problems so far. */
interface Assembly {
  values: Map<SettingKey, unknown>;
  merged: Layer;
  readFile: (p: string) => string;
  problems: string[];
  demo: boolean;
  get: <T>(key: SettingKey) => T;
  originOf: (key: SettingKey) => string;
  /** Presence is judged on what was given, validity on what parsed: an invalid id list is reported once, not again as "missing". */
  given: (...keys: SettingKey[]) => boolean;
}

/** The Cloudflare source: a token or the legacy email and key, with account ids; never both kinds. */
function cloudflareSource(x: Assembly): Config['cloudflare'] {
  const { values, merged, readFile, problems, demo, get, originOf, given } = x;
  const token = readSecret(values, merged, 'cloudflare.api_token', 'cloudflare.api_token_file', readFile, problems);
  const headerSafe = (k: SettingKey) => {
    const value = get<string | undefined>(k);
    const problem = value === undefined ? undefined : headerProblem(value);
    if (problem) problems.push(`${originOf(k)}: ${problem}`);
    return problem ? undefined : value;
  };
  const email = headerSafe('cloudflare.api_email');
  const key = headerSafe('cloudflare.api_key');
  const accountIds = get<string[] | undefined>('cloudflare.account_ids');
  const tokenGiven = given('cloudflare.api_token', 'cloudflare.api_token_file');
  const legacyGiven = given('cloudflare.api_email', 'cloudflare.api_key');

  if (tokenGiven && legacyGiven) {
    problems.push('CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_EMAIL/CLOUDFLARE_API_KEY: use either a token or the legacy email and key, not both');
  } else if (legacyGiven && !(given('cloudflare.api_email') && given('cloudflare.api_key'))) {
    problems.push(
      `${given('cloudflare.api_email') ? originOf('cloudflare.api_email') : originOf('cloudflare.api_key')}: legacy auth needs both CLOUDFLARE_API_EMAIL and CLOUDFLARE_API_KEY`,
    );
  } else if ((tokenGiven || legacyGiven) && !given('cloudflare.account_ids')) {
    if (!demo) problems.push('CLOUDFLARE_ACCOUNT_IDS: required when Cloudflare credentials are set');
  } else if (!tokenGiven && !legacyGiven && given('cloudflare.account_ids')) {
    if (!demo)
      problems.push(
        `${originOf('cloudflare.account_ids')}: needs CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_TOKEN_FILE or CLOUDFLARE_API_EMAIL + CLOUDFLARE_API_KEY`,
      );
  } else {
    const auth = token ? ({ kind: 'token', token } as const) : email && key ? ({ kind: 'key', email, key } as const) : undefined;
    if (auth && accountIds) return { auth, accountIds, baseUrl: get('cloudflare.api_base_url'), budget: get('cloudflare.api_budget') };
  }

  return undefined;
}

/** This process's shard: SHARD, else the ordinal of POD_NAME (a StatefulSet pod) when sharded, else 0. */
function shardingOf(x: Assembly): Config['sharding'] {
  const { get, problems, originOf } = x;
  const total = get<number>('sharding.total_shards');
  let shard = get<number | undefined>('sharding.shard');
  let origin = originOf('sharding.shard');
  const pod = get<string | undefined>('sharding.pod_name');
  if (shard === undefined && total > 1 && pod !== undefined) {
    shard = ordinalOf(pod);
    origin = `${originOf('sharding.pod_name')} (its ordinal)`;
    if (shard === undefined) problems.push(`${originOf('sharding.pod_name')}: "${pod}" ends in no ordinal (like exporter-2), so it names no shard; set SHARD`);
  }
  shard ??= 0;
  if (shard >= total) problems.push(`${origin}: shard ${shard} is out of range for TOTAL_SHARDS ${total} (0 to ${total - 1})`);
  return { shard, total };
}

/**
 * The Cloudflare accounts this shard owns. The shards share the token's budget: unless
 * CLOUDFLARE_API_BUDGET is set (then it is per shard), each gets the default divided among them.
 */
function owned(cloudflare: Config['cloudflare'], sharding: Config['sharding'], x: Assembly): Config['cloudflare'] {
  if (!cloudflare || sharding.total === 1) return cloudflare;
  const accountIds = cloudflare.accountIds.filter((id) => shardOf(id, sharding.total) === sharding.shard);
  const budget = budgetSet(x) ? cloudflare.budget : Math.max(1, Math.floor(cloudflare.budget / sharding.total));
  return { ...cloudflare, accountIds, budget };
}

/** Whether CLOUDFLARE_API_BUDGET was set (in the file, the environment or a flag), not left at its default. */
function budgetSet(x: Assembly): boolean {
  return !x.originOf('cloudflare.api_budget').startsWith('default for');
}

/** The budget is a share of what Cloudflare allows the user (CLOUDFLARE_API_LIMIT), the shards' set budgets together too. */
function withinLimit(budget: number, sharding: Config['sharding'], x: Assembly): void {
  const limit = x.get<number>('cloudflare.api_limit');
  const set = budgetSet(x);
  const what = `CLOUDFLARE_API_LIMIT (${limit}, what Cloudflare allows per user in 5 minutes); the budget is a share of it`;
  if (budget > limit) x.problems.push(`${x.originOf('cloudflare.api_budget')}: ${budget} is more than ${what}`);
  else if (set && sharding.total > 1 && budget * sharding.total > limit) {
    x.problems.push(
      `${x.originOf('cloudflare.api_budget')}: ${budget} a shard is ${budget * sharding.total} for the ${sharding.total} shards sharing the token, more than ${what}`,
    );
  }
}

/** The PostHog source: a personal API key with organization ids. */
function posthogSource(x: Assembly): Config['posthog'] {
  const { values, merged, readFile, problems, demo, get, originOf, given } = x;
  const apiKey = readSecret(values, merged, 'posthog.api_key', 'posthog.api_key_file', readFile, problems);
  const organizationIds = get<string[] | undefined>('posthog.organization_ids');
  const keyGiven = given('posthog.api_key', 'posthog.api_key_file');
  if (keyGiven && !given('posthog.organization_ids')) {
    if (!demo) problems.push('POSTHOG_ORGANIZATION_IDS: required when POSTHOG_API_KEY is set');
  } else if (!keyGiven && given('posthog.organization_ids')) {
    if (!demo) problems.push(`${originOf('posthog.organization_ids')}: needs POSTHOG_API_KEY or POSTHOG_API_KEY_FILE`);
  } else if (apiKey?.startsWith('phc_')) {
    const origin = given('posthog.api_key') ? originOf('posthog.api_key') : originOf('posthog.api_key_file');
    problems.push(
      `${origin}: a phc_ key is a project API key (the one a website embeds), which PostHog's organization endpoints refuse; create a personal API key (phx_…) with the organization:read scope`,
    );
  } else if (apiKey && organizationIds) {
    return { apiKey, organizationIds, baseUrl: get('posthog.api_base_url') };
  }

  return undefined;
}

/** REMEDIATION_STATE_FILE: writable where set, and required where a recreate journal needs it. */
function stateFileOf(x: Assembly): string | undefined {
  const { problems, get, originOf } = x;
  const stateFile = get<string | undefined>('remediation.state_file');
  if (stateFile) {
    const problem = stateFileProblem(stateFile);
    if (problem) problems.push(`${originOf('remediation.state_file')}: ${problem}`);
  } else if (['on', 'dry-run'].includes(get('remediation.proxy_records')) && get('remediation.proxy_record_retry_method') === 'recreate') {
    // Without the journal on disk, a crash between a DELETE and its create loses the domain.
    problems.push(
      `${originOf('remediation.proxy_records')}: with PROXY_RECORD_RETRY_METHOD=recreate (the default) set REMEDIATION_STATE_FILE, where the recreate journal survives a crash between a record's DELETE and its create`,
    );
  }
  return stateFile;
}

function assemble(values: Map<SettingKey, unknown>, merged: Layer, readFile: (p: string) => string, problems: string[], demo: boolean): Config {
  const get = <T>(key: SettingKey) => values.get(key) as T;
  const originOf = (key: SettingKey) => merged.get(key)?.origin ?? key;
  const given = (...keys: SettingKey[]) => keys.some((k) => merged.has(k));
  const x: Assembly = { values, merged, readFile, problems, demo, get, originOf, given };
  const sharding = shardingOf(x);
  const source = cloudflareSource(x);
  // Checked whenever the budget itself is valid, so it is named with every other problem.
  const budget = get<number | undefined>('cloudflare.api_budget');
  if (typeof budget === 'number') withinLimit(budget, sharding, x);
  const cloudflare = owned(source, sharding, x);
  const posthog = posthogSource(x);
  if (posthog && sharding.total > 1) posthog.organizationIds = posthog.organizationIds.filter((id) => shardOf(id, sharding.total) === sharding.shard);
  if (!cloudflare && !posthog && !demo && problems.length === 0) {
    problems.push(
      'no source is enabled: set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_TOKEN_FILE, or CLOUDFLARE_API_EMAIL + CLOUDFLARE_API_KEY) with CLOUDFLARE_ACCOUNT_IDS, and/or POSTHOG_API_KEY (or POSTHOG_API_KEY_FILE) with POSTHOG_ORGANIZATION_IDS; or run with --demo to use the embedded simulator',
    );
  }

  const webConfigFile = get<string | undefined>('web.config_file');
  const stateFile = stateFileOf(x);
  return {
    web: {
      listen: get('web.listen_address'),
      telemetryPath: get('web.telemetry_path'),
      ...(webConfigFile ? { configFile: webConfigFile } : {}),
    },
    log: { level: get('log.level'), format: get('log.format') },
    ...(cloudflare ? { cloudflare } : {}),
    ...(posthog ? { posthog } : {}),
    schedules: {
      tunnels: get('schedules.tunnels'),
      gateway: get('schedules.gateway'),
      proxyRecords: get('schedules.proxy_records'),
      configurations: get('schedules.configurations'),
      routes: get('schedules.routes'),
    },
    sharding,
    accountLimits: get<AccountLimits | undefined>('cloudflare.account_limits') ?? DOCUMENTED_LIMITS,
    haConnections: get('cloudflared.ha_connections'),
    staleDataMaxAgeMs: get('stale_data_max_age'),
    remediation: {
      staleConnectors: get('remediation.stale_connectors'),
      proxyRecords: get('remediation.proxy_records'),
      proxyRecordRetryMethod: get('remediation.proxy_record_retry_method'),
      staleConnectorAfterMs: get('remediation.stale_connector_after'),
      cooldownMs: get('remediation.cooldown'),
      maxActionsPerHour: get('remediation.max_actions_per_hour'),
      ...(stateFile ? { stateFile } : {}),
    },
    demo,
  };
}
