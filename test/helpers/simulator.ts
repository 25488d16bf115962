// Test helpers around the embedded simulator: clients and configs pointed at it.
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.js';
import { type ApiClient, type ApiClientOptions, type ApiObserver, createApiClient } from '../../src/transport/http.js';

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** Starts a simulator that is closed after the current test. */
export async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ ...options, fleet: { seed: 7, ...options.fleet } });
  running.push(sim);
  return sim;
}

export interface ObservedRequest {
  api: string;
  operation: string;
  code: string;
}

export function recordingObserver(): ApiObserver & { requests: ObservedRequest[]; remaining: number[] } {
  const requests: ObservedRequest[] = [];
  const remaining: number[] = [];
  return {
    requests,
    remaining,
    onRequest: (api, operation, code) => requests.push({ api, operation, code }),
    onRateLimitRemaining: (_api, r) => remaining.push(r),
  };
}

function simulatorClient(api: 'cloudflare' | 'posthog', baseUrl: string, token: string, overrides: Partial<ApiClientOptions>): ApiClient {
  return createApiClient({ api, baseUrl, headers: { authorization: `Bearer ${token}` }, log: silentLogger(), timeoutMs: 2000, retryBaseMs: 5, ...overrides });
}

export const cloudflareClient = (sim: Simulator, overrides: Partial<ApiClientOptions> = {}) =>
  simulatorClient('cloudflare', sim.cloudflareBaseUrl, sim.credentials.cloudflareToken, overrides);

export const posthogClient = (sim: Simulator, overrides: Partial<ApiClientOptions> = {}) =>
  simulatorClient('posthog', sim.posthogBaseUrl, sim.credentials.posthogKey, overrides);

/** The environment that points a spawned daemon at the simulator, both APIs, with its credentials. */
export function simulatorEnv(sim: Simulator): Record<string, string> {
  return {
    CLOUDFLARE_API_TOKEN: sim.credentials.cloudflareToken,
    CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
    CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
    POSTHOG_API_KEY: sim.credentials.posthogKey,
    POSTHOG_ORGANIZATION_IDS: sim.organizationIds.join(','),
    POSTHOG_API_BASE_URL: sim.posthogBaseUrl,
  };
}

/** What a test's configuration overrides: any part; remediation settings one by one. */
export type ConfigOverrides = Omit<Partial<Config>, 'remediation' | 'schedules'> & {
  remediation?: Partial<Config['remediation']>;
  schedules?: Partial<Config['schedules']>;
};

/** The schedule of a job a test drives itself (its first run is at start; the cron never fires during a test). */
export const NEVER = '0 0 0 1 1 *';

/** The optional sources (routes, configurations) on, on schedules that never fire in a test. */
export const WITH_REACH = { schedules: { routes: NEVER, configurations: NEVER } } as const;

/**
 * A complete configuration pointed at the simulator, listening on a free loopback port: what the
 * loader makes of the settings table's defaults and this environment, then the overrides.
 */
export function simulatorConfig(sim: Simulator, overrides: ConfigOverrides = {}): Config {
  // Far-apart schedules: tests drive polls with job.tick(), the cron never fires during a test.
  const never = NEVER;
  const { config } = loadConfig({
    argv: [],
    env: {
      LISTEN_ADDRESS: '127.0.0.1:0',
      LOG_LEVEL: 'error',
      CLOUDFLARE_API_TOKEN: sim.credentials.cloudflareToken,
      CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
      CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
      CLOUDFLARE_API_BUDGET: '1000',
      POSTHOG_API_KEY: sim.credentials.posthogKey,
      POSTHOG_ORGANIZATION_IDS: sim.organizationIds.join(','),
      POSTHOG_API_BASE_URL: sim.posthogBaseUrl,
      TUNNELS_SCHEDULE: never,
      GATEWAY_SCHEDULE: never,
      PROXY_RECORDS_SCHEDULE: never,
      // The optional sources make requests of their own: off unless a test turns them on.
      ROUTES_SCHEDULE: 'off',
      CONFIGURATIONS_SCHEDULE: 'off',
    },
  });
  return {
    ...config,
    ...overrides,
    schedules: { ...config.schedules, ...overrides.schedules },
    remediation: { ...config.remediation, ...overrides.remediation },
  };
}
