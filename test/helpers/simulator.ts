// Test helpers around the embedded simulator: clients and configs pointed at it.
import { afterEach } from 'vitest';
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

/** A complete configuration pointed at the simulator, listening on a free loopback port. */
export function simulatorConfig(sim: Simulator, overrides: Partial<Config> = {}): Config {
  return {
    web: { listen: { host: '127.0.0.1', port: 0 }, telemetryPath: '/metrics' },
    log: { level: 'error', format: 'json' },
    cloudflare: { auth: { kind: 'token', token: sim.credentials.cloudflareToken }, accountIds: sim.accountIds, baseUrl: sim.cloudflareBaseUrl, budget: 1000 },
    posthog: { apiKey: sim.credentials.posthogKey, organizationIds: sim.organizationIds, baseUrl: sim.posthogBaseUrl },
    // Far-apart schedules: tests drive polls with job.tick(), the cron never fires during a test.
    schedules: { tunnels: '0 0 0 1 1 *', gateway: '0 0 0 1 1 *', proxyRecords: '0 0 0 1 1 *' },
    haConnections: 4,
    staleDataMaxAgeMs: 600_000,
    remediation: {
      staleConnectors: 'off',
      proxyRecords: 'off',
      proxyRecordRetryMethod: 'retry',
      staleConnectorAfterMs: 900_000,
      cooldownMs: 3_600_000,
      maxActionsPerHour: 10,
    },
    demo: false,
    ...overrides,
  };
}
