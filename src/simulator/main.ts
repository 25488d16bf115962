// `npm run simulator -- --port 9878 --seed 1`: the simulated Cloudflare and PostHog APIs alone,
// for docker-compose and for users pointing their own exporter or Prometheus at a fake fleet.
import { parseArgs } from 'node:util';
import { startSimulator } from './server.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.SIMULATOR_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.SIMULATOR_PORT ?? '9878' },
    seed: { type: 'string', default: '1' },
    accounts: { type: 'string', default: '2' },
    tunnels: { type: 'string', default: '8' },
    'step-seconds': { type: 'string', default: '5' },
  },
});

const sim = await startSimulator({
  host: values.host,
  port: Number(values.port),
  fleet: { seed: Number(values.seed), accounts: Number(values.accounts), tunnelsPerAccount: Number(values.tunnels) },
  timelineIntervalMs: Number(values['step-seconds']) * 1000,
  onEvent: (event) => process.stdout.write(`${new Date().toISOString()} ${event}\n`),
});

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

const stop = () => void sim.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
