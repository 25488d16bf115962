// `npm run simulator -- --port 9878 --seed 1`: the simulated Cloudflare and PostHog APIs alone,
// for docker-compose and for users pointing their own exporter or Prometheus at a fake fleet.
import { parseArgs } from 'node:util';
import { startSimulator } from './server.js';

const USAGE = `Usage: node dist/simulator/main.js [flags]

The simulated Cloudflare (tunnels, connectors, Gateway) and PostHog (proxy records) APIs on one
HTTP server, with a fleet that changes every --step-seconds.

Flags:
  --host HOST                  address to listen on (default 127.0.0.1, or SIMULATOR_HOST)
  --port PORT                  port (default 9878, or SIMULATOR_PORT; 0 picks a free one)
  --seed N                     fleet seed: the same seed gives the same fleet (default 1)
  --accounts N                 Cloudflare accounts (default 2)
  --tunnels N                  cfd_tunnels per account (default 8)
  --max-proxy-records N        PostHog max_proxy_records per organization (default 2, as PostHog)
  --step-seconds N             seconds between fleet events; 0 stops them (default 5)
  --retry-accepts-api-keys     accept personal API keys on proxy record retry/ (PostHog refuses them)
  --help                       this text
`;

function fail(message: string): never {
  process.stderr.write(`simulator: ${message} (see --help)\n`);
  process.exit(2);
}

function wholeNumber(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

let values: {
  host: string;
  port: string;
  seed: string;
  accounts: string;
  tunnels: string;
  'max-proxy-records': string;
  'step-seconds': string;
  'retry-accepts-api-keys': boolean;
  help: boolean;
};
try {
  ({ values } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.SIMULATOR_HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.SIMULATOR_PORT ?? '9878' },
      seed: { type: 'string', default: '1' },
      accounts: { type: 'string', default: '2' },
      tunnels: { type: 'string', default: '8' },
      'max-proxy-records': { type: 'string', default: '2' },
      'step-seconds': { type: 'string', default: '5' },
      'retry-accepts-api-keys': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail((err as Error).message.split('\n')[0] ?? 'bad arguments');
}

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const options = {
  port: wholeNumber('port', values.port, 0, 65535),
  seed: wholeNumber('seed', values.seed, 0, 2 ** 32 - 1),
  accounts: wholeNumber('accounts', values.accounts, 1, 1000),
  tunnels: wholeNumber('tunnels', values.tunnels, 0, 100_000),
  maxProxyRecords: wholeNumber('max-proxy-records', values['max-proxy-records'], 0, 10_000),
  stepSeconds: wholeNumber('step-seconds', values['step-seconds'], 0, 86_400),
};

let sim: Awaited<ReturnType<typeof startSimulator>>;
try {
  sim = await startSimulator({
    host: values.host,
    port: options.port,
    fleet: { seed: options.seed, accounts: options.accounts, tunnelsPerAccount: options.tunnels, maxProxyRecords: options.maxProxyRecords },
    timelineIntervalMs: options.stepSeconds * 1000,
    posthogRetryAcceptsApiKeys: values['retry-accepts-api-keys'],
    onEvent: (event) => process.stdout.write(`${new Date().toISOString()} ${event}\n`),
  });
} catch (err) {
  fail(`cannot listen on ${values.host}:${options.port}: ${(err as Error).message}`);
}

process.stdout.write(
  [
    `simulator listening on ${sim.url}`,
    `  CLOUDFLARE_API_BASE_URL=${sim.cloudflareBaseUrl}`,
    `  CLOUDFLARE_API_TOKEN=${sim.credentials.cloudflareToken}`,
    `  CLOUDFLARE_ACCOUNT_IDS=${sim.accountIds.join(',')}`,
    `  POSTHOG_API_BASE_URL=${sim.posthogBaseUrl}`,
    `  POSTHOG_API_KEY=${sim.credentials.posthogKey}`,
    `  POSTHOG_ORGANIZATION_IDS=${sim.organizationIds.join(',')}`,
    `  control: ${sim.url}/_simulator/state`,
    '',
  ].join('\n'),
);

const running = sim;
const stop = () => void running.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
