import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderEffectiveConfig } from '../../src/config/effective.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const dir = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const CF = { CLOUDFLARE_API_TOKEN: 'cf-token', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT };

function problemsOf(argv: string[], env: Record<string, string>, files: Record<string, string> = {}): string[] {
  try {
    loadConfig({ argv, env, readFile: (p) => (p in files ? (files[p] as string) : jsonRead(p)) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

// Real files for the fixtures, fakes for secrets.
import { readFileSync } from 'node:fs';
import { ACCOUNT, ACCOUNT_2 } from '../helpers/ids.js';

function jsonRead(p: string): string {
  return readFileSync(p, 'utf8');
}

describe('one bad config file per validation rule', () => {
  const cases: [string, string][] = [
    ['unknown-key.yml', 'unknown key "cloudflare.acount_ids"'],
    ['unknown-section.yml', 'unknown key "prometheus"'],
    ['bad-duration.yml', 'stale_data_max_age: must be a duration like 30s, 10m or 1h, got "10 minutes"'],
    ['bad-cron.yml', 'schedules.tunnels: must be a cron expression with 6 fields (seconds first), got "*/30 * * * *"'],
    ['bad-cron-field.yml', 'schedules.gateway: is not a valid cron expression "61 * * * * *" (second: 61 is a invalid expression for second)'],
    ['bad-mode.yml', 'remediation.stale_connectors: must be one of off, dry-run, on, got "true"'],
    ['bad-budget.yml', 'cloudflare.api_budget: must be a positive whole number, got "-5"'],
    ['bad-url.yml', 'posthog.api_base_url: must be an http(s) URL, got "ftp://posthog.example"'],
    ['bad-listen.yml', 'web.listen_address: must be [host]:port, like :9877 or 127.0.0.1:9877, got "9877"'],
    ['bad-log-level.yml', 'log.level: must be one of debug, info, warn, error, got "verbose"'],
    ['bad-telemetry-path.yml', 'web.telemetry_path: must be a path starting with / (and not under /-/)'],
    ['bad-account-id.yml', 'cloudflare.account_ids: contains an invalid id "abc/../def"'],
    ['unquoted-id.yml', 'cloudflare.account_ids: ids must be strings: quote them in YAML'],
    ['bad-yaml.yml', 'Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['not-a-mapping.yml', 'the document must be a mapping'],
    ['section-not-mapping.yml', 'key cloudflare must be a mapping'],
  ];
  it.each(cases)('%s', (file, message) => {
    const path = `${dir}${file}`;
    const env = ['bad-account-id.yml', 'unquoted-id.yml'].includes(file) ? {} : CF;
    expect(problemsOf([`--config.file=${path}`], env)).toEqual([`config file ${path}: ${message}`]);
  });

  it('a missing config file names the file', () => {
    expect(problemsOf(['--config.file', '/nonexistent/config.yml'], CF)).toEqual(['config file /nonexistent/config.yml: cannot be read (ENOENT)']);
  });
});

describe('environment and flags', () => {
  it('reports every problem at once, naming the variable', () => {
    const problems = problemsOf(['--log.level=loud', '--nope'], {
      ...CF,
      STALE_DATA_MAX_AGE: '5',
      TUNNELS_SCHEDULE: 'every minute',
      REMEDIATE_PROXY_RECORDS: 'yes',
      REMEDIATION_MAX_ACTIONS_PER_HOUR: '0',
    });
    expect(problems).toEqual([
      'unknown flag --nope',
      '--log.level: must be one of debug, info, warn, error, got "loud"',
      'TUNNELS_SCHEDULE: must be a cron expression with 6 fields (seconds first), got "every minute"',
      'STALE_DATA_MAX_AGE: must be a duration like 30s, 10m or 1h, got "5"',
      'REMEDIATE_PROXY_RECORDS: must be one of off, dry-run, on, got "yes"',
      'REMEDIATION_MAX_ACTIONS_PER_HOUR: must be a positive whole number, got "0"',
    ]);
  });

  it('parses booleans strictly: --demo=false is false, anything else is an error', () => {
    expect(loadConfig({ argv: ['--demo=false'], env: CF }).config.demo).toBe(false);
    expect(loadConfig({ argv: ['--demo'], env: {} }).config.demo).toBe(true);
    expect(problemsOf(['--demo=no'], CF)).toEqual(['--demo: must be true or false, got "no"']);
    expect(problemsOf(['--config.check=0'], CF)).toEqual(['--config.check: must be true or false, got "0"']);
  });

  it('with no source and no --demo, names the variables and --demo', () => {
    const [problem] = problemsOf([], {});
    expect(problem).toMatch(
      /^no source is enabled: set CLOUDFLARE_API_TOKEN .*CLOUDFLARE_ACCOUNT_IDS.*POSTHOG_API_KEY.*POSTHOG_ORGANIZATION_IDS; or run with --demo/,
    );
  });

  it('needs ids with credentials and credentials with ids', () => {
    expect(problemsOf([], { CLOUDFLARE_API_TOKEN: 't' })).toEqual(['CLOUDFLARE_ACCOUNT_IDS: required when Cloudflare credentials are set']);
    expect(problemsOf([], { CLOUDFLARE_ACCOUNT_IDS: ACCOUNT })).toEqual([
      'CLOUDFLARE_ACCOUNT_IDS: needs CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_TOKEN_FILE or CLOUDFLARE_API_EMAIL + CLOUDFLARE_API_KEY',
    ]);
    expect(problemsOf([], { POSTHOG_API_KEY: 'k' })).toEqual(['POSTHOG_ORGANIZATION_IDS: required when POSTHOG_API_KEY is set']);
    expect(problemsOf([], { CLOUDFLARE_API_EMAIL: 'a@b.c', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT })).toEqual([
      'CLOUDFLARE_API_EMAIL: legacy auth needs both CLOUDFLARE_API_EMAIL and CLOUDFLARE_API_KEY',
    ]);
    expect(problemsOf([], { ...CF, CLOUDFLARE_API_EMAIL: 'a@b.c', CLOUDFLARE_API_KEY: 'k' })).toEqual([
      'CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_EMAIL/CLOUDFLARE_API_KEY: use either a token or the legacy email and key, not both',
    ]);
  });

  it('reads *_FILE secrets and rejects both forms at once', () => {
    const files = { '/s/cf': 'file-token\n', '/s/ph': '  phx_key  ' };
    const { config } = loadConfig({
      argv: [],
      env: {
        CLOUDFLARE_API_TOKEN_FILE: '/s/cf',
        CLOUDFLARE_ACCOUNT_IDS: `${ACCOUNT}, ${ACCOUNT_2},${ACCOUNT}`,
        POSTHOG_API_KEY_FILE: '/s/ph',
        POSTHOG_ORGANIZATION_IDS: 'org',
      },
      readFile: (p) => files[p as keyof typeof files] ?? '',
    });
    expect(config.cloudflare).toEqual({
      auth: { kind: 'token', token: 'file-token' },
      accountIds: [ACCOUNT, ACCOUNT_2],
      baseUrl: 'https://api.cloudflare.com/client/v4',
      budget: 300,
    });
    expect(config.posthog).toEqual({ apiKey: 'phx_key', organizationIds: ['org'], baseUrl: 'https://us.posthog.com' });
    expect(problemsOf([], { ...CF, CLOUDFLARE_API_TOKEN_FILE: '/s/cf' }, files)).toEqual([
      'CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_TOKEN_FILE: set only one of them',
    ]);
    expect(problemsOf([], { CLOUDFLARE_API_TOKEN_FILE: '/missing', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT })).toEqual([
      'CLOUDFLARE_API_TOKEN_FILE: cannot read /missing (ENOENT)',
    ]);
  });

  it('refuses at the check every credential an HTTP header cannot carry, naming the setting and never the value', () => {
    expect(problemsOf([], { CLOUDFLARE_API_EMAIL: 'sre@example.com\r\nX-Evil: 1', CLOUDFLARE_API_KEY: 'key\nmore', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT })).toEqual([
      'CLOUDFLARE_API_EMAIL: contains a line break or another control character inside the secret (only surrounding whitespace is trimmed)',
      'CLOUDFLARE_API_KEY: contains a line break or another control character inside the secret (only surrounding whitespace is trimmed)',
    ]);
    const accented = problemsOf([], {
      CLOUDFLARE_API_TOKEN: 'tok\u00e9n',
      CLOUDFLARE_ACCOUNT_IDS: ACCOUNT,
      POSTHOG_API_KEY: 'phx_\u00fc',
      POSTHOG_ORGANIZATION_IDS: 'o',
    });
    expect(accented).toEqual([
      'CLOUDFLARE_API_TOKEN: contains a character outside printable ASCII, which an HTTP header cannot carry',
      'POSTHOG_API_KEY: contains a character outside printable ASCII, which an HTTP header cannot carry',
    ]);
    expect(accented.join('\n')).not.toContain('tok');
  });

  it('proxy record repair by recreate (the default) needs REMEDIATION_STATE_FILE: the journal must survive a crash', () => {
    const PH = { POSTHOG_API_KEY: 'phx', POSTHOG_ORGANIZATION_IDS: 'org' };
    for (const mode of ['on', 'dry-run']) {
      expect(problemsOf([], { ...PH, REMEDIATE_PROXY_RECORDS: mode })).toEqual([
        "REMEDIATE_PROXY_RECORDS: with PROXY_RECORD_RETRY_METHOD=recreate (the default) set REMEDIATION_STATE_FILE, where the recreate journal survives a crash between a record's DELETE and its create",
      ]);
    }
    expect(problemsOf([], { ...PH, REMEDIATE_PROXY_RECORDS: 'on', PROXY_RECORD_RETRY_METHOD: 'retry' })).toEqual([]);
    expect(problemsOf([], { ...PH, REMEDIATE_PROXY_RECORDS: 'off' })).toEqual([]);
  });

  it('CLOUDFLARED_HA_CONNECTIONS takes 0 (learn) and whole numbers only', () => {
    expect(loadConfig({ argv: [], env: { ...CF, CLOUDFLARED_HA_CONNECTIONS: '0' } }).config.haConnections).toBe(0);
    expect(loadConfig({ argv: ['--cloudflared.ha-connections=2'], env: CF }).config.haConnections).toBe(2);
    expect(problemsOf([], { ...CF, CLOUDFLARED_HA_CONNECTIONS: 'four' })).toEqual([
      'CLOUDFLARED_HA_CONNECTIONS: must be a whole number (0 or more), got "four"',
    ]);
  });

  it('an invalid base URL with a user and password is named without printing them', () => {
    expect(problemsOf([], { ...CF, CLOUDFLARE_API_BASE_URL: 'https://user:s3cret@exa mple.com' })).toEqual([
      'CLOUDFLARE_API_BASE_URL: must be an http(s) URL, got "https://***@exa mple.com"',
    ]);
    expect(problemsOf([], { ...CF, POSTHOG_API_KEY: 'k', POSTHOG_ORGANIZATION_IDS: 'o', POSTHOG_API_BASE_URL: 'ftp://u:s3cret@example.com' })).toEqual([
      'POSTHOG_API_BASE_URL: must be an http(s) URL, got "ftp://***@example.com"',
    ]);
  });

  it('layers defaults < file < environment < flags; a higher layer owns the credential group', () => {
    // The README's complete example file.
    const path = fileURLToPath(new URL('../../examples/config.yml', import.meta.url));
    const secrets: Record<string, string> = { '/run/secrets/cloudflare_api_token': 'from-file', '/run/secrets/posthog_api_key': 'ph-from-file' };
    const read = (p: string) => secrets[p] ?? jsonRead(p);
    const { config } = loadConfig({
      argv: [`--config.file=${path}`, '--log.level=debug'],
      env: { LOG_LEVEL: 'warn', LOG_FORMAT: 'logfmt', CLOUDFLARE_API_TOKEN: 'from-env', TUNNELS_SCHEDULE: '*/10 * * * * *' },
      readFile: read,
    });
    expect(config.log).toEqual({ level: 'debug', format: 'logfmt' });
    expect(config.cloudflare?.auth).toEqual({ kind: 'token', token: 'from-env' });
    expect(config.posthog?.apiKey).toBe('ph-from-file');
    expect(config.posthog?.baseUrl).toBe('https://eu.posthog.com');
    expect(config.schedules).toEqual({
      tunnels: '*/10 * * * * *',
      gateway: '0 */5 * * * *',
      proxyRecords: '0 * * * * *',
      configurations: '0 0 * * * *',
      routes: '0 */5 * * * *',
    });
    // All interfaces: a loopback-only example would be unreachable in a container.
    expect(config.web.listen).toEqual({ host: '', port: 9877 });
    expect(config.remediation).toMatchObject({ staleConnectors: 'dry-run', proxyRecords: 'off', staleConnectorAfterMs: 900_000, cooldownMs: 3_600_000 });
  });

  it('applies the documented defaults', () => {
    const { config } = loadConfig({ argv: [], env: CF });
    expect(config).toMatchObject({
      web: { listen: { host: '', port: 9877 }, telemetryPath: '/metrics' },
      log: { level: 'info', format: 'json' },
      schedules: { tunnels: '*/30 * * * * *', gateway: '0 */5 * * * *', proxyRecords: '0 * * * * *' },
      haConnections: 4,
      staleDataMaxAgeMs: 600_000,
      remediation: {
        staleConnectors: 'off',
        proxyRecords: 'off',
        proxyRecordRetryMethod: 'recreate',
        staleConnectorAfterMs: 900_000,
        cooldownMs: 3_600_000,
        maxActionsPerHour: 10,
      },
    });
    expect(config.posthog).toBeUndefined();
  });

  it('renders the effective config with secrets redacted', () => {
    const { config } = loadConfig({
      argv: [],
      env: {
        CLOUDFLARE_API_EMAIL: 'me@example.com',
        CLOUDFLARE_API_KEY: 'global-key-123',
        CLOUDFLARE_ACCOUNT_IDS: ACCOUNT,
        POSTHOG_API_KEY: 'phx_secret',
        POSTHOG_ORGANIZATION_IDS: 'o',
      },
    });
    const text = renderEffectiveConfig(config);
    expect(text).not.toContain('global-key-123');
    expect(text).not.toContain('phx_secret');
    expect(text).toContain('api_key: <redacted>');
    expect(text).toContain('api_email: me@example.com');
    expect(text).toContain('stale_data_max_age: 10m');
    expect(text).toContain('listen_address: :9877');
    expect(text).toContain('cloudflared:\n  ha_connections: 4');
    expect(text).toContain('proxy_record_retry_method: recreate');
  });
});

describe('what a down tunnel takes down: its settings', () => {
  it('raises the account limits named in CLOUDFLARE_ACCOUNT_LIMITS and keeps the documented ones for the rest', () => {
    expect(loadConfig({ argv: [], env: CF }).config.accountLimits).toEqual({
      cfd_tunnels: 1000,
      warp_connectors: 10,
      routes: 1000,
      connections_per_tunnel: 100,
    });
    const raised = loadConfig({ argv: [], env: { ...CF, CLOUDFLARE_ACCOUNT_LIMITS: 'cfd_tunnels=2000, routes=5000' } }).config.accountLimits;
    expect(raised).toEqual({ cfd_tunnels: 2000, warp_connectors: 10, routes: 5000, connections_per_tunnel: 100 });
  });

  it('names a bad limit, and every other problem, at once', () => {
    expect(problemsOf([], { ...CF, CLOUDFLARE_ACCOUNT_LIMITS: 'tunnels=5', ROUTES_SCHEDULE: 'sometimes' })).toEqual([
      expect.stringContaining('CLOUDFLARE_ACCOUNT_LIMITS'),
      expect.stringContaining('ROUTES_SCHEDULE'),
    ]);
    expect(problemsOf([], { ...CF, CLOUDFLARE_ACCOUNT_LIMITS: 'routes=0' })[0]).toContain(
      'must be resource=limit with a positive whole number, got "routes=0"',
    );
    expect(problemsOf([], { ...CF, CLOUDFLARE_ACCOUNT_LIMITS: 'tunnels=5' })[0]).toContain('unknown resource "tunnels"');
  });

  it('turns a source off with off', () => {
    const { schedules } = loadConfig({ argv: [], env: { ...CF, ROUTES_SCHEDULE: 'off', CONFIGURATIONS_SCHEDULE: 'off' } }).config;
    expect([schedules.routes, schedules.configurations]).toEqual(['off', 'off']);
  });
});

describe('what cron and Cloudflare do not mean', () => {
  it('refuses a step larger than its field (*/90 in the seconds would run once a minute)', () => {
    expect(problemsOf([], { ...CF, TUNNELS_SCHEDULE: '*/90 * * * * *' })).toEqual([
      expect.stringContaining('TUNNELS_SCHEDULE: step 90 is larger than the seconds field allows (at most 59)'),
    ]);
    expect(problemsOf([], { ...CF, GATEWAY_SCHEDULE: '0 */75 * * * *' })[0]).toContain('step 75 is larger than the minutes field allows');
    expect(problemsOf([], { ...CF, ROUTES_SCHEDULE: '0 0 */30 * * *' })[0]).toContain('step 30 is larger than the hours field allows');
    expect(problemsOf([], { ...CF, TUNNELS_SCHEDULE: '*/30 * * * * *', GATEWAY_SCHEDULE: '0 */5 * * * *' })).toEqual([]);
  });

  it('refuses a budget above the API limit (CLOUDFLARE_API_LIMIT, 1200 unless Cloudflare raised it)', () => {
    expect(problemsOf([], { ...CF, CLOUDFLARE_API_BUDGET: '1500' })).toEqual([
      'CLOUDFLARE_API_BUDGET: 1500 is more than CLOUDFLARE_API_LIMIT (1200, what Cloudflare allows per user in 5 minutes); the budget is a share of it',
    ]);
    expect(problemsOf([], { ...CF, CLOUDFLARE_API_BUDGET: '1500', CLOUDFLARE_API_LIMIT: '4000' })).toEqual([]);
    // Named with every other problem, not only once the rest of the Cloudflare settings are right.
    expect(problemsOf([], { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: 'mycompany', CLOUDFLARE_API_BUDGET: '2000' })).toEqual([
      expect.stringContaining('CLOUDFLARE_ACCOUNT_IDS: "mycompany" is not a Cloudflare account id'),
      expect.stringContaining('CLOUDFLARE_API_BUDGET: 2000 is more than CLOUDFLARE_API_LIMIT'),
    ]);
  });

  it('refuses a Cloudflare account id that is not 32 hex characters, naming each and where to find the right one', () => {
    const problems = problemsOf([], { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: `my-account,${'0'.repeat(32)},ABCDEF0123456789ABCDEF0123456789` });
    expect(problems).toEqual([
      'CLOUDFLARE_ACCOUNT_IDS: "my-account" and "ABCDEF0123456789ABCDEF0123456789" are not Cloudflare account ids: an account id is 32 lowercase hex characters, as in the dashboard\'s URL (dash.cloudflare.com/<account id>) or `wrangler whoami`',
    ]);
    expect(problemsOf([], { CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_IDS: ACCOUNT })).toEqual([]);
  });

  it('refuses a PostHog project API key (phc_), which cannot read organizations, naming the fix', () => {
    expect(problemsOf([], { POSTHOG_API_KEY: 'phc_abc', POSTHOG_ORGANIZATION_IDS: 'org' })).toEqual([
      expect.stringContaining('POSTHOG_API_KEY: a phc_ key is a project API key'),
    ]);
  });
});

describe('flags given twice', () => {
  it('refuses a flag given twice instead of quietly taking the last (one listen address, one log level)', () => {
    expect(problemsOf(['--web.listen-address=:9100', '--web.listen-address', ':9200'], CF)).toEqual([
      '--web.listen-address: given twice (":9100", ":9200"); the exporter takes one value, give it once',
    ]);
    expect(problemsOf(['--log.level=debug', '--log.level=info'], CF)[0]).toContain('--log.level: given twice');
    expect(problemsOf(['--web.listen-address=:9100'], CF)).toEqual([]);
  });
});
