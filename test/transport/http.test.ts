import { getEventListeners } from 'node:events';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createPacer } from '../../src/budget/window.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { retryProxyRecord } from '../../src/sources/proxy-records/api.js';
import { listTunnels } from '../../src/sources/tunnels/api.js';
import { listConnectors } from '../../src/sources/tunnels/connectors-api.js';
import {
  ApiAuthError,
  ApiNetworkError,
  ApiNotFoundError,
  ApiRateLimitedError,
  ApiResponseError,
  ApiServerError,
  ApiTimeoutError,
} from '../../src/transport/errors.js';
import { apiPath, createApiClient, MAX_RESPONSE_BYTES, MAX_RETRY_AFTER_MS, parseRateLimit, parseRetryAfter } from '../../src/transport/http.js';
import { cloudflareClient, posthogClient, recordingObserver, simulator } from '../helpers/simulator.js';

describe('header parsing', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('30', 0)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:01:00 GMT', 0)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
  it('reads the Ratelimit header', () => {
    expect(parseRateLimit('"default";r=50;t=30')).toEqual({ remaining: 50, resetSeconds: 30 });
    expect(parseRateLimit('garbage')).toBeUndefined();
  });
  it('percent-encodes every interpolated path segment', () => {
    expect(apiPath`/accounts/${'a/../b'}/cfd_tunnel/${'x?y#z'}`).toBe('/accounts/a%2F..%2Fb/cfd_tunnel/x%3Fy%23z');
  });

  it.each(['..', '.', ''])('refuses to build a path with the segment %j (URL resolution would leave the resource)', (id) => {
    expect(() => apiPath`/api/organizations/${'org'}/proxy_records/${id}/`).toThrow(`refusing to build an API path with the segment ${JSON.stringify(id)}`);
  });
});

describe('API client against the simulator', () => {
  it('sends the bearer token and exports the Ratelimit remaining', async () => {
    const sim = await simulator();
    const observer = recordingObserver();
    const client = cloudflareClient(sim, { observer });
    await listTunnels(client, sim.accountIds[0] as string);
    expect(observer.requests).toEqual([{ api: 'cloudflare', operation: 'list_tunnels', code: '200' }]);
    expect(observer.remaining).toEqual([1199]);
  });

  it('uses the legacy email + key pair', async () => {
    const sim = await simulator();
    const client = cloudflareClient(sim, { headers: { 'x-auth-email': sim.credentials.cloudflareEmail, 'x-auth-key': sim.credentials.cloudflareKey } });
    expect((await listTunnels(client, sim.accountIds[0] as string)).length).toBeGreaterThan(0);
  });

  it('on 429 honours Retry-After: nothing more is sent until it has passed', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', rateLimited: true, retryAfterSeconds: 30, times: 1 }] });
    let clock = 1_000_000;
    const client = cloudflareClient(sim, { now: () => clock });
    const account = sim.accountIds[0] as string;
    const first = await listTunnels(client, account).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ApiRateLimitedError);
    expect((first as ApiRateLimitedError).retryAfterMs).toBe(30_000);
    expect(sim.requests).toHaveLength(1);

    clock += 29_000;
    const held = await listTunnels(client, account).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(ApiRateLimitedError);
    expect((held as Error).message).toContain('not sent');
    expect(sim.requests).toHaveLength(1);

    clock += 1_001;
    await expect(listTunnels(client, account)).resolves.toBeInstanceOf(Array);
    expect(sim.requests).toHaveLength(2);
  });

  it('caps a Retry-After (or Ratelimit reset) at 10 minutes, and logs the cap', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', rateLimited: true, retryAfterSeconds: 999_999_999, times: 1 }] });
    let clock = 1_000_000;
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({
      level: 'debug',
      format: 'json',
      destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } as never,
    });
    const client = cloudflareClient(sim, { now: () => clock, log });
    const account = sim.accountIds[0] as string;
    const first = await listTunnels(client, account).catch((e: unknown) => e);
    expect((first as ApiRateLimitedError).retryAfterMs).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(600_000);
    expect(lines.find((l) => String(l.msg).includes('holding all requests'))).toMatchObject({ lockout_seconds: 600, asked_seconds: 999_999_999 });
    clock += MAX_RETRY_AFTER_MS + 1;
    await expect(listTunnels(client, account)).resolves.toBeInstanceOf(Array);
  });

  it('fails one call whose response body is larger than the limit, with a clear error', async () => {
    const big = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      let sent = 0;
      const more = () => {
        while (sent < 40 && res.write(chunk)) sent++;
        if (sent < 40) res.once('drain', more);
        else res.end('{}');
      };
      more();
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
    try {
      const { port } = big.address() as { port: number };
      const client = createApiClient({ api: 'cloudflare', baseUrl: `http://127.0.0.1:${port}`, headers: {}, log: silentLogger(), retries: 0 });
      const err = await client.send({ method: 'GET', path: '/big', operation: 'x', permission: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiResponseError);
      expect((err as Error).message).toContain(`response body is larger than ${MAX_RESPONSE_BYTES} bytes`);
      expect(MAX_RESPONSE_BYTES).toBe(32 * 1024 * 1024);
    } finally {
      big.closeAllConnections();
      await new Promise((r) => big.close(r));
    }
  });

  it('leaves nothing on the long-lived stop signal per request (no dependants, no listeners)', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 2 } });
    const client = cloudflareClient(sim);
    const stop = new AbortController();
    for (let i = 0; i < 200; i++)
      await client.send({ method: 'GET', path: `/accounts/${sim.accountIds[0]}/cfd_tunnel`, operation: 'x', permission: 'x', signal: stop.signal });
    // AbortSignal.any([stop, deadline]) registers every combined signal on `stop` (Node 20 keeps them).
    const dependants = Object.getOwnPropertySymbols(stop.signal).find((s) => s.description === 'kDependantSignals');
    expect(dependants ? (stop.signal as unknown as Record<symbol, Set<unknown>>)[dependants]?.size : 0).toBe(0);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('retries a GET after a 5xx, with the retries counted', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', status: 503, times: 2 }] });
    const observer = recordingObserver();
    const tunnels = await listTunnels(cloudflareClient(sim, { observer }), sim.accountIds[0] as string);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(observer.requests.map((r) => r.code)).toEqual(['503', '503', '200']);
  });

  it('gives up after the retries with a typed error naming method, path and status', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', status: 500 }] });
    const account = sim.accountIds[0] as string;
    const err = await listTunnels(cloudflareClient(sim), account).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiServerError);
    expect((err as Error).message).toBe(`cloudflare GET /client/v4/accounts/${account}/tunnels (HTTP 500): server error`);
    expect(sim.requests).toHaveLength(3);
  });

  it('retries a connection reset', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', reset: true, times: 1 }] });
    await expect(listTunnels(cloudflareClient(sim), sim.accountIds[0] as string)).resolves.toBeInstanceOf(Array);
    expect(sim.requests).toHaveLength(2);
  });

  it('never retries a POST', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'proxy_records.retry', status: 503 }] });
    const org = sim.fleet.organizations[0];
    const err = await retryProxyRecord(posthogClient(sim), org?.id as string, org?.records[0]?.id as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiServerError);
    expect(sim.requests).toHaveLength(1);
  });

  it('a hung request hits its deadline', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'connections.list', hang: true }] });
    const account = sim.fleet.accounts[0];
    const tunnel = account?.tunnels.find((t) => t.status === 'healthy');
    const started = Date.now();
    const client = cloudflareClient(sim, { timeoutMs: 300, retries: 0 });
    const err = await listConnectors(client, account?.id as string, 'cfd_tunnel', tunnel?.id as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiTimeoutError);
    expect((err as Error).message).toContain('no complete response within 300ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a malformed body fails that call with a clear error', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', malformed: true }] });
    const err = await listTunnels(cloudflareClient(sim), sim.accountIds[0] as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect((err as Error).message).toMatch(/\(HTTP 200\): response body is not JSON$/);
  });

  it("a 404 keeps Cloudflare's own message and code (7003: perhaps the id is invalid)", async () => {
    const sim = await simulator();
    const err = await listTunnels(cloudflareClient(sim), '0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiNotFoundError);
    expect((err as Error).message).toContain('not found (codes 7003): "Could not route to');
    expect((err as Error).message).toContain('perhaps your object identifier is invalid?');
  });

  it('an auth failure names the missing permission and never the token', async () => {
    const sim = await simulator();
    const client = cloudflareClient(sim, { headers: { authorization: 'Bearer wrong-secret-token' } });
    const err = await listTunnels(client, sim.accountIds[0] as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiAuthError);
    // Cloudflare answers a wrong token and a token without the permission alike (code 10000): say both.
    expect((err as Error).message).toContain('access denied: the credential is invalid, or lacks the "Cloudflare Tunnel Read" permission');
    expect(JSON.stringify(err)).not.toContain('wrong-secret-token');
    expect((err as Error).message).not.toContain('wrong-secret-token');
  });

  it('a network error (nothing listening) is typed', async () => {
    const sim = await simulator();
    const url = sim.cloudflareBaseUrl;
    await sim.close();
    const err = await listTunnels(cloudflareClient(sim, { baseUrl: url }), 'acc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiNetworkError);
  });

  it.each([
    [401, 'Personal API key phx_echoed_secret_key is invalid.'],
    [403, 'phx_echoed_secret_key: This action does not support personal API key access'],
    // The key straddling the 200 characters of detail kept: no part of it may stay.
    [401, `${'x'.repeat(190)} phx_echoed_secret_key is invalid.`],
  ])('a %i whose detail echoes the key never carries the key on in its error', async (status, detail) => {
    const server = http.createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const client = createApiClient({
        api: 'posthog',
        baseUrl: `http://127.0.0.1:${port}`,
        headers: { authorization: 'Bearer phx_echoed_secret_key' },
        log: silentLogger(),
        retries: 0,
      });
      const err = (await client
        .send({ method: 'GET', path: '/api/organizations/o/proxy_records/', operation: 'list_proxy_records', permission: 'organization:read' })
        .catch((e: unknown) => e)) as Error & { detail?: string };
      // (The marker itself may be cut at the 200 characters kept; the key never survives.)
      expect(err.message).toContain('[REDACTED');
      expect(err.message).not.toContain('phx_echoed');
      expect(err.detail ?? '').not.toContain('phx_echoed');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('retries of a failing list take at most a tenth of the budget, so the next poll after the API heals goes out at once', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'tunnels.list', status: 500 }] });
    const pacer = createPacer({ budget: 100, windowMs: 300_000 });
    const client = cloudflareClient(sim, { pacer, retries: 2, retryBaseMs: 1 });
    const account = sim.accountIds[0] as string;
    const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<'held'>((r) => setTimeout(() => r('held'), 3000))]);
    // An error storm: 40 polls, each a request and up to two retries.
    for (let i = 0; i < 40; i++) expect(await within(listTunnels(client, account).catch((e: unknown) => e))).toBeInstanceOf(ApiServerError);
    expect(sim.requests).toHaveLength(40 + 10);
    sim.setFaults([]);
    expect(await within(listTunnels(client, account))).not.toBe('held');
  });

  it('refuses to follow a URL on another origin', async () => {
    const sim = await simulator();
    const err = await posthogClient(sim)
      .send({ method: 'GET', path: 'http://127.0.0.2:1/api/organizations/x/proxy_records/', operation: 'list_proxy_records', permission: 'organization:read' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect(sim.requests).toHaveLength(0);
  });
});
