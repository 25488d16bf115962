import { describe, expect, it } from 'vitest';
import { ApiCredentialNotAllowedError, ApiRequestError } from '../../src/clients/errors.js';
import { createProxyRecord, deleteProxyRecord, getProxyRecord, listProxyRecords, retryProxyRecord } from '../../src/clients/posthog/proxy-records.js';
import { posthogClient, simulator } from '../helpers/simulator.js';

describe('PostHog proxy records', () => {
  it.each(['current', 'array', 'paginated'] as const)('reads the %s list shape completely', async (shape) => {
    const sim = await simulator({ posthogListShape: shape, posthogPageSize: 4, fleet: { recordsPerOrganization: 9 } });
    const org = sim.fleet.organizations[0];
    const list = await listProxyRecords(posthogClient(sim), org?.id as string);
    expect(list.records.map((r) => r.id)).toEqual(org?.records.map((r) => r.id));
    expect(list.maxProxyRecords).toBe(shape === 'current' ? org?.maxProxyRecords : undefined);
    expect(sim.requests).toHaveLength(shape === 'paginated' ? 3 : 1);
  });

  it('classifies PostHog\'s refusal of a personal API key on retry/ as its own error, naming the cause', async () => {
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
    const refused = await createProxyRecord(client, org?.id as string, 'a.example.com').then(() => createProxyRecord(client, org?.id as string, 'b.example.com')).catch((e: unknown) => e);
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
});
