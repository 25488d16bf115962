import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { listProxyEndpoints } from '../../src/sources/gateway/api.js';
import { listTunnels } from '../../src/sources/tunnels/api.js';
import { deleteConnector, listConnectors } from '../../src/sources/tunnels/connectors-api.js';
import { MAX_PAGES } from '../../src/transport/envelope.js';
import { ApiAuthError, ApiResponseError } from '../../src/transport/errors.js';
import { createApiClient } from '../../src/transport/http.js';
import { cloudflareClient, simulator } from '../helpers/simulator.js';

describe('Cloudflare tunnel lists', () => {
  it('reads both types in one walk of /tunnels, every page, non-deleted only, and stops on total_count', async () => {
    // The server caps per_page at 4 (Cloudflare's cap is 1000): 12 live tunnels are 3 pages.
    const sim = await simulator({ perPageCap: 4, fleet: { accounts: 1, tunnelsPerAccount: 10, warpConnectorsPerAccount: 2, deletedTunnelsPerAccount: 2 } });
    const account = sim.fleet.accounts[0];
    const tunnels = await listTunnels(cloudflareClient(sim), account?.id as string);
    const live = account?.tunnels.filter((t) => t.deleted_at === null).map((t) => t.id);
    expect(tunnels.map((t) => t.id)).toEqual(live);
    expect(tunnels.filter((t) => t.tun_type === 'warp_connector')).toHaveLength(2);
    expect(sim.requests.map((r) => `${r.path}?${new URLSearchParams(r.query)}`)).toEqual(
      [1, 2, 3].map((page) => `/client/v4/accounts/${account?.id}/tunnels?tun_types=cfd_tunnel%2Cwarp_connector&is_deleted=false&page=${page}&per_page=1000`),
    );
  });

  it('fails, naming the bound, when an endpoint that ignores page cannot deliver total_count tunnels', async () => {
    const sim = await simulator({ perPageCap: 3, ignorePage: true, fleet: { accounts: 1, tunnelsPerAccount: 10 } });
    const err = await listTunnels(cloudflareClient(sim), sim.accountIds[0] as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect((err as Error).message).toMatch(/pagination did not end within 5 pages \(total_count 12, per_page 3\); 3 distinct items read/);
    expect(sim.requests).toHaveLength(5);
  });

  it('stops on an empty page', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 0, warpConnectorsPerAccount: 0, deletedTunnelsPerAccount: 0 } });
    expect(await listTunnels(cloudflareClient(sim), sim.accountIds[0] as string)).toEqual([]);
    expect(sim.requests).toHaveLength(1);
  });

  it('asks for 1000 tunnels a page: 2,500 tunnels are 3 requests', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 2500, warpConnectorsPerAccount: 0, deletedTunnelsPerAccount: 0 } });
    expect(await listTunnels(cloudflareClient(sim), sim.accountIds[0] as string)).toHaveLength(2500);
    expect(sim.requests).toHaveLength(3);
  });
});

describe('Cloudflare connections', () => {
  it('reads WARP connector connections from the warp_connector path, with ha_status', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const account = sim.fleet.accounts[0];
    const warp = account?.tunnels.find((t) => t.tun_type === 'warp_connector');
    const connectors = await listConnectors(cloudflareClient(sim), account?.id as string, 'warp_connector', warp?.id as string);
    expect(connectors.map((c) => c.ha_status).sort()).toEqual(['active', 'passive']);
    expect(sim.requests[0]?.path).toBe(`/client/v4/accounts/${account?.id}/warp_connector/${warp?.id}/connections`);
  });

  it('DELETE always carries client_id and removes only that connector', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const account = sim.fleet.accounts[0];
    const tunnel = account?.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.connectors.length >= 2);
    const [gone, kept] = tunnel?.connectors ?? [];
    await deleteConnector(cloudflareClient(sim), account?.id as string, tunnel?.id as string, gone?.id as string);
    expect(sim.requests).toEqual([expect.objectContaining({ method: 'DELETE', query: { client_id: gone?.id } })]);
    expect(tunnel?.connectors.map((c) => c.id)).toContain(kept?.id);
    expect(tunnel?.connectors.map((c) => c.id)).not.toContain(gone?.id);
  });

  it('takes a bare 204 as a successful DELETE, and an envelope with success false as a failure', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const account = sim.fleet.accounts[0];
    const tunnel = account?.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.connectors.length > 0);
    const client = cloudflareClient(sim);
    sim.setFaults([{ endpoint: 'connections.delete', status: 204, times: 1 }]);
    const c1 = '00000000-0000-4000-8000-0000000000c1';
    await expect(deleteConnector(client, account?.id as string, tunnel?.id as string, c1)).resolves.toBeUndefined();
    // A 200 whose envelope says success: false (as Cloudflare answers some refusals).
    sim.setFaults([{ endpoint: 'connections.delete', status: 200, times: 1 }]);
    await expect(deleteConnector(client, account?.id as string, tunnel?.id as string, c1)).rejects.toThrow('request failed (codes 10001)');
  });

  it('refuses to send a DELETE without client_id', async () => {
    const sim = await simulator();
    await expect(deleteConnector(cloudflareClient(sim), 'a', 't', ' ')).rejects.toThrow('refusing to send a DELETE without client_id');
    expect(sim.requests).toHaveLength(0);
  });

  it('a read-only token gets an auth error naming Cloudflare Tunnel Write', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const account = sim.fleet.accounts[0];
    const tunnel = account?.tunnels.find((t) => t.connectors.length > 0 && t.tun_type === 'cfd_tunnel');
    const client = cloudflareClient(sim, { headers: { authorization: `Bearer ${sim.credentials.readOnlyCloudflareToken}` } });
    const err = await deleteConnector(client, account?.id as string, tunnel?.id as string, tunnel?.connectors[0]?.id as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiAuthError);
    expect((err as Error).message).toContain('"Cloudflare Tunnel Write"');
  });
});

describe('answers that lack their result', () => {
  it.each([
    ['connections', (c: ReturnType<typeof createApiClient>) => listConnectors(c, 'acc', 'cfd_tunnel', '00000000-0000-4000-8000-000000000001')],
    ['Gateway proxy endpoints', (c: ReturnType<typeof createApiClient>) => listProxyEndpoints(c, 'acc')],
  ])('%s with result null (or absent) fail the call instead of reading as none', async (_what, call) => {
    for (const body of [{ result: null }, {}]) {
      const { client } = await scriptedBody(body);
      await expect(call(client)).rejects.toThrow(/unexpected result shape \(result: /);
    }
  });
});

describe('Gateway proxy endpoints', () => {
  it('lists ip and identity endpoints', async () => {
    const sim = await simulator({ fleet: { accounts: 1, proxyEndpointsPerAccount: 2 } });
    const endpoints = await listProxyEndpoints(cloudflareClient(sim), sim.accountIds[0] as string);
    expect(endpoints.map((e) => e.kind)).toEqual(['ip', 'identity']);
    expect(endpoints[0]?.ips?.length).toBeGreaterThan(0);
  });
});

/** A Cloudflare list endpoint that answers each page as the test scripts it. */
async function scriptedList(page: (n: number) => { result: { id: string; name: string }[]; result_info?: Record<string, number> }) {
  const requests: number[] = [];
  const server = http.createServer((req, res) => {
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page'));
    requests.push(n);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: true, errors: [], messages: [], ...page(n) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after.push(() => new Promise((r) => server.close(r)));
  const { port } = server.address() as { port: number };
  const client = createApiClient({ api: 'cloudflare', baseUrl: `http://127.0.0.1:${port}`, headers: {}, log: silentLogger(), retries: 0 });
  return { client, requests };
}
/** A Cloudflare endpoint that answers every request with one success envelope around `body`. */
async function scriptedBody(body: Record<string, unknown>) {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: true, errors: [], messages: [], ...body }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after.push(() => new Promise((r) => server.close(r)));
  const { port } = server.address() as { port: number };
  return { client: createApiClient({ api: 'cloudflare', baseUrl: `http://127.0.0.1:${port}`, headers: {}, log: silentLogger(), retries: 0 }) };
}
const after: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(after.splice(0).map((f) => f()));
});
/** Tunnel `i` of a scripted list: a UUID id, as the real API's. */
const tunnel = (i: number) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `tunnel-${i}` });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => tunnel(from + i));

describe('Cloudflare pagination that could fool the exporter', () => {
  it('trusts total_count: a page that repeats an id is not a stop, the tunnels after it are read', async () => {
    // Page 2 repeats tunnel 2 (it moved while paging) and carries tunnels 3 and 4.
    const pages: Record<number, { id: string; name: string }[]> = { 1: range(0, 3), 2: [tunnel(2), ...range(3, 5)], 3: range(5, 7) };
    const { client, requests } = await scriptedList((n) => ({
      result: pages[n] ?? [],
      result_info: { page: n, per_page: 3, count: pages[n]?.length ?? 0, total_count: 7 },
    }));
    const repeated: number[] = [];
    const tunnels = await listTunnels(client, 'acc', undefined, (n) => repeated.push(n));
    expect(tunnels.map((t) => t.id)).toEqual(range(0, 7).map((t) => t.id));
    expect(repeated).toEqual([1]);
    expect(requests).toEqual([1, 2, 3]);
  });

  it('fails the walk past ceil(total_count / per_page) + 1 pages that never reach total_count', async () => {
    // Every page is full but brings one new id: the total is never reached.
    const { client, requests } = await scriptedList((n) => ({
      result: [tunnel(0), tunnel(1), tunnel(n + 1)],
      result_info: { page: n, per_page: 3, count: 3, total_count: 6 },
    }));
    const err = await listTunnels(client, 'acc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect((err as Error).message).toContain('pagination did not end within 3 pages (total_count 6, per_page 3); 5 distinct items read');
    expect(requests).toEqual([1, 2, 3]);
  });

  it('an empty first page that says total_count 5 fails the walk instead of emptying the fleet', async () => {
    const { client, requests } = await scriptedList(() => ({ result: [], result_info: { page: 1, per_page: 1000, count: 0, total_count: 5 } }));
    const err = await listTunnels(client, 'acc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect((err as Error).message).toContain('page 1 is empty but total_count is 5; 0 distinct items read');
    expect(requests).toEqual([1]);
  });

  it('an empty later page short of total_count fails the walk too', async () => {
    const { client } = await scriptedList((n) => ({ result: n === 1 ? range(0, 3) : [], result_info: { page: n, per_page: 3, total_count: 7 } }));
    await expect(listTunnels(client, 'acc')).rejects.toThrow('page 2 is empty but total_count is 7; 3 distinct items read');
  });

  it('without total_count, stops on a short page', async () => {
    const { client, requests } = await scriptedList((n) => ({
      result: n === 1 ? range(0, 3) : n === 2 ? range(3, 4) : range(10, 13),
      result_info: { page: n, per_page: 3 },
    }));
    const tunnels = await listTunnels(client, 'acc');
    expect(tunnels).toHaveLength(4);
    expect(requests).toEqual([1, 2]);
  });

  it('without total_count or per_page, endless full pages fail at the hard page limit instead of growing forever', async () => {
    const { client, requests } = await scriptedList((n) => ({ result: range(n * 10, n * 10 + 3) }));
    const err = await listTunnels(client, 'acc').catch((e: unknown) => e);
    expect((err as Error).message).toContain(`pagination did not end within ${MAX_PAGES} pages`);
    expect(requests).toHaveLength(MAX_PAGES);
  });
});
