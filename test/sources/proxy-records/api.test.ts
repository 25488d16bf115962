import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createProxyRecord, deleteProxyRecord, getProxyRecord, listProxyRecords, retryProxyRecord } from '../../../src/sources/proxy-records/api.js';
import { ApiCredentialNotAllowedError, ApiRequestError } from '../../../src/transport/errors.js';
import { createApiClient } from '../../../src/transport/http.js';
import { posthogClient, simulator } from '../../helpers/simulator.js';

/** A PostHog record id: a UUID, as PostHog's. */
const recordId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

describe('PostHog proxy records', () => {
  it.each(['current', 'array', 'paginated'] as const)('reads the %s list shape completely', async (shape) => {
    const sim = await simulator({ posthogListShape: shape, posthogPageSize: 4, fleet: { recordsPerOrganization: 9 } });
    const org = sim.fleet.organizations[0];
    const list = await listProxyRecords(posthogClient(sim), org?.id as string);
    expect(list.records.map((r) => r.id)).toEqual(org?.records.map((r) => r.id));
    expect(list.maxProxyRecords).toBe(shape === 'current' ? org?.maxProxyRecords : undefined);
    expect(sim.requests).toHaveLength(shape === 'paginated' ? 3 : 1);
  });

  it("classifies PostHog's refusal of a personal API key on retry/ as its own error, naming the cause", async () => {
    const sim = await simulator();
    const org = sim.fleet.organizations[0];
    const erroring = org?.records.find((r) => r.status === 'erroring');
    const err = await retryProxyRecord(posthogClient(sim), org?.id as string, erroring?.id as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCredentialNotAllowedError);
    expect((err as Error).message).toContain('does not support personal API key access');
    expect((err as Error).message).not.toContain('organization:write');
    expect((err as Error).message).not.toContain(sim.credentials.posthogKey);
  });

  it('creates a record with a JSON body and deletes one', async () => {
    const sim = await simulator({ fleet: { recordsPerOrganization: 1 } });
    const org = sim.fleet.organizations[0];
    const client = posthogClient(sim);
    const created = await createProxyRecord(client, org?.id as string, 'fresh.example.com');
    expect(created).toMatchObject({ domain: 'fresh.example.com', status: 'waiting' });
    expect(org?.records.map((r) => r.domain)).toContain('fresh.example.com');
    await deleteProxyRecord(client, org?.id as string, created.id);
    expect(org?.records.map((r) => r.domain)).not.toContain('fresh.example.com');
    const refused = await createProxyRecord(client, org?.id as string, 'a.example.com')
      .then(() => createProxyRecord(client, org?.id as string, 'b.example.com'))
      .catch((e: unknown) => e);
    expect((refused as Error).message).toContain('(HTTP 400)');
  });

  it('retries a record and reads it back as waiting; other states answer 400', async () => {
    const sim = await simulator({ posthogRetryAcceptsApiKeys: true });
    const org = sim.fleet.organizations[0];
    const erroring = org?.records.find((r) => r.status === 'erroring');
    const valid = org?.records.find((r) => r.status === 'valid');
    const client = posthogClient(sim);
    await retryProxyRecord(client, org?.id as string, erroring?.id as string);
    expect((await getProxyRecord(client, org?.id as string, erroring?.id as string)).status).toBe('waiting');
    const err = await retryProxyRecord(client, org?.id as string, valid?.id as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect((err as Error).message).toContain('(HTTP 400)');
    expect(sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /api/organizations/${org?.id}/proxy_records/${erroring?.id}/retry/`,
      `GET /api/organizations/${org?.id}/proxy_records/${erroring?.id}/`,
      `POST /api/organizations/${org?.id}/proxy_records/${valid?.id}/retry/`,
    ]);
  });

  it('accepts a retry answered 2xx without a JSON body (the body is not used)', async () => {
    const sim = await simulator({ faults: [{ endpoint: 'proxy_records.retry', malformed: true }], posthogRetryAcceptsApiKeys: true });
    const org = sim.fleet.organizations[0];
    await expect(retryProxyRecord(posthogClient(sim), org?.id as string, org?.records[0]?.id as string)).resolves.toBeUndefined();
  });

  it('fails at once on a next link that points at a page already read, instead of 100 requests', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ count: 3, next: `http://${req.headers.host}${req.url}`, previous: null, results: [{ id: recordId(1), domain: 'a.example.com' }] }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const client = createApiClient({ api: 'posthog', baseUrl: `http://127.0.0.1:${port}`, headers: {}, log: silentLogger(), retries: 0 });
      const sent: string[] = [];
      const observed = {
        ...client,
        send: (req: Parameters<typeof client.send>[0]) => {
          sent.push(req.path);
          return client.send(req);
        },
      };
      const err = await listProxyRecords(observed, 'org').catch((e: unknown) => e);
      expect((err as Error).message).toContain('the next link points at a page already read');
      expect(sent).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('bounds a paginated walk by count: pages past ceil(count / page size) + 1 fail the call', async () => {
    const server = http.createServer((req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? 1);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          count: 4,
          next: `http://${req.headers.host}/api/organizations/org/proxy_records/?n=${n + 1}`,
          previous: null,
          results: [
            { id: recordId(2 * n), domain: `${n}.example.com` },
            { id: recordId(2 * n + 1), domain: `s${n}.example.com` },
          ],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const client = createApiClient({ api: 'posthog', baseUrl: `http://127.0.0.1:${port}`, headers: {}, log: silentLogger(), retries: 0 });
      const err = await listProxyRecords(client, 'org').catch((e: unknown) => e);
      expect((err as Error).message).toContain('pagination did not end within 3 pages; 6 records read');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
