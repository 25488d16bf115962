// The simulated Cloudflare v4 (./cloudflare-api.ts) and PostHog (./posthog-api.ts) APIs on one
// loopback HTTP server, used by --demo, the tests and the benchmarks. They behave like today's
// services, refusals and quirks included; the fleet moves on a seeded timeline (./timeline.ts),
// faults are injected per endpoint (./faults.ts), and /_simulator/ controls it all (./control.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudflareApi } from './cloudflare-api.js';
import { type ControlOptions, control } from './control.js';
import { type FaultRule, Faults } from './faults.js';
import { createRandom, type FleetOptions, generateFleet, type SimFleet } from './fleet.js';
import { type Endpoint, parsePath, type RecordedRequest } from './paths.js';
import { PostHogApi } from './posthog-api.js';
import { cfError, phError, type Reply, send } from './reply.js';
import { createTimeline, type Timeline } from './timeline.js';

export type { Endpoint, FaultRule, RecordedRequest };

export interface SimulatorOptions {
  host?: string;
  port?: number;
  fleet?: FleetOptions;
  /** Requests per window per credential (Cloudflare: 1200 per 300 s). */
  rateLimit?: { limit: number; windowSeconds: number; lockoutSeconds?: number };
  /** Largest per_page the list endpoints honour (Cloudflare's tunnel lists: 1000). */
  perPageCap?: number;
  /** PostHog list shape: today's object, a bare array, or DRF pagination. */
  posthogListShape?: 'current' | 'array' | 'paginated';
  /**
   * PostHog answers a personal API key on `retry/` with 403 "This action does not support personal
   * API key access" (the action declares no API scope). True simulates a server that accepts it.
   */
  posthogRetryAcceptsApiKeys?: boolean;
  posthogPageSize?: number;
  /**
   * How long a deleted record stays listed, as `deleting`, after its DELETE was answered (replica
   * lag, or a teardown): 0 or absent, gone at once (PostHog deletes waiting, erroring and timed-out
   * records in the request).
   */
  posthogDeleteLagMs?: number;
  /** Advance the timeline every this many ms; 0 or absent: only on POST /_simulator/step. */
  timelineIntervalMs?: number;
  faults?: FaultRule[];
  credentials?: {
    cloudflareToken?: string;
    cloudflareEmail?: string;
    cloudflareKey?: string;
    posthogKey?: string;
    /** A key of a member below admin: it reads, and every proxy record write is refused (403). */
    posthogMemberKey?: string;
    readOnlyCloudflareToken?: string;
  };
  /** Some Cloudflare list endpoints ignore `page`; simulate one that does. */
  ignorePage?: boolean;
  now?: () => number;
  onEvent?: (event: string) => void;
}

export interface Simulator {
  url: string;
  cloudflareBaseUrl: string;
  posthogBaseUrl: string;
  credentials: Required<NonNullable<SimulatorOptions['credentials']>>;
  accountIds: string[];
  organizationIds: string[];
  fleet: SimFleet;
  timeline: Timeline;
  requests: RecordedRequest[];
  setFaults(rules: FaultRule[]): void;
  step(): string[];
  close(): Promise<void>;
}

const DEFAULT_CREDENTIALS = {
  cloudflareToken: 'sim-cloudflare-token',
  cloudflareEmail: 'sre@example.com',
  cloudflareKey: 'sim-global-api-key',
  posthogKey: 'phx_sim_personal_api_key',
  posthogMemberKey: 'phx_sim_member_api_key',
  readOnlyCloudflareToken: 'sim-cloudflare-read-only-token',
};

/** The answer a fault gives instead of the API's, or undefined when the API answers. */
function faultReply(fault: FaultRule | undefined, endpoint: Endpoint | undefined): { reply: Reply; headers?: Record<string, string> } | undefined {
  if (fault?.rateLimited) {
    const wait = fault.retryAfterSeconds ?? 60;
    return { reply: cfError(429, 10100, 'Rate limited'), headers: { 'retry-after': String(wait), ratelimit: `"default";r=0;t=${wait}` } };
  }
  if (fault?.status) {
    return { reply: endpoint?.startsWith('proxy') ? phError(fault.status, 'A server error occurred.') : cfError(fault.status, 10001, 'Internal server error') };
  }
  if (fault?.malformed) return { reply: { status: 200, body: undefined, raw: '<html><body>502 Bad Gateway</body></html>' } };
  return undefined;
}

interface HandlerContext {
  cloudflare: CloudflareApi;
  posthog: PostHogApi;
  faults: Faults;
  requests: RecordedRequest[];
  hung: Set<http.ServerResponse>;
  now: () => number;
  controls: ControlOptions;
}

/** Answers one request: the control endpoint, or the API's answer unless a fault replaces it; every API request is logged. */
function createHandler(ctx: HandlerContext): (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void {
  const { cloudflare, posthog, faults, requests, hung, now, controls } = ctx;
  /** The API's answer to a request, by the one reading of its path. */
  const route = (req: http.IncomingMessage, url: URL, body: string): { reply: Reply; rateHeaders?: Record<string, string> } => {
    const path = parsePath(req.method ?? 'GET', url.pathname);
    if (path.api === 'cloudflare') return cloudflare.handle(req, path, url);
    if (path.api === 'posthog') return { reply: posthog.handle(req, path, url, body) };
    return { reply: { status: 404, body: { error: 'not found' } } };
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    // Logged as the time the request arrived, as the real API's rate limit counts it (not the
    // time the answer was ready, which a 1,000-tunnel page delays).
    const arrived = now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'simulator'}`);
    const path = parsePath(method, url.pathname);
    if (path.api === 'control') {
      try {
        send(res, control(controls, method, path.parts, body));
      } catch (err) {
        send(res, { status: 400, body: { error: (err as Error).message } });
      }
      return;
    }
    const endpoint = path.api === 'none' ? undefined : path.endpoint;
    const fault = faults.match(endpoint, url.pathname);
    const record = (status: number) =>
      requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), ...(endpoint ? { endpoint } : {}), status, at: arrived });
    const answer = () => {
      // Handled, and then the fault below replaces its answer.
      if (fault?.after && (fault.hang || fault.reset || fault.status)) route(req, url, body);
      if (fault?.hang || fault?.reset) {
        record(0);
        if (fault.hang) {
          hung.add(res);
          res.on('close', () => hung.delete(res));
        } else req.socket.destroy();
        return;
      }
      const faulted = faultReply(fault, endpoint);
      const { reply, rateHeaders } = faulted ? { reply: faulted.reply, rateHeaders: faulted.headers } : route(req, url, body);
      record(reply.status);
      send(res, reply, rateHeaders);
    };
    const latency = faults.latencyOf(fault);
    if (latency > 0) setTimeout(answer, latency);
    else answer();
  };
  return handle;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const now = options.now ?? Date.now;
  const credentials = { ...DEFAULT_CREDENTIALS, ...options.credentials };
  const fleet = generateFleet({ now: now(), ...options.fleet });
  const seed = options.fleet?.seed ?? 1;
  const random = createRandom(seed ^ 0xfa017);
  const timeline = createTimeline(fleet, seed);
  const faults = new Faults(options.faults ?? [], random);
  const requests: RecordedRequest[] = [];
  const hung = new Set<http.ServerResponse>();
  const cloudflare = new CloudflareApi({ fleet, now, credentials, ...pick(options, 'rateLimit', 'perPageCap', 'ignorePage') });
  const posthog = new PostHogApi({
    fleet,
    now,
    random,
    timeline,
    credentials,
    ...(options.posthogListShape ? { listShape: options.posthogListShape } : {}),
    ...(options.posthogPageSize ? { pageSize: options.posthogPageSize } : {}),
    ...(options.posthogRetryAcceptsApiKeys ? { retryAcceptsApiKeys: true } : {}),
    ...(options.posthogDeleteLagMs ? { deleteLagMs: options.posthogDeleteLagMs } : {}),
  });
  const step = () => {
    const events = timeline.step(now());
    for (const e of events) options.onEvent?.(e);
    return events;
  };
  const controls = { fleet, timeline, faults, requests, now, random, step, resetRateLimit: () => cloudflare.resetRateLimit() };

  const handle = createHandler({ cloudflare, posthog, faults, requests, hung, now, controls });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const timer = options.timelineIntervalMs ? setInterval(step, options.timelineIntervalMs) : undefined;
  timer?.unref();

  return {
    url,
    cloudflareBaseUrl: `${url}/client/v4`,
    posthogBaseUrl: url,
    credentials,
    accountIds: fleet.accounts.map((a) => a.id),
    organizationIds: fleet.organizations.map((o) => o.id),
    fleet,
    timeline,
    requests,
    setFaults: (rules) => faults.set(rules),
    step,
    close() {
      if (timer) clearInterval(timer);
      for (const res of hung) res.destroy();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The options that are set, by name. */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): { [P in K]?: NonNullable<T[P]> } {
  const out: { [P in K]?: NonNullable<T[P]> } = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k] as NonNullable<T[K]>;
  return out;
}
