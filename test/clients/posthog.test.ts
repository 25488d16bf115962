import { describe, expect, it } from 'vitest';
import { ApiRequestError } from '../../src/clients/errors.js';
import { getProxyRecord, listProxyRecords, retryProxyRecord } from '../../src/clients/posthog/proxy-records.js';
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

  it('retries a record and reads it back as waiting; other states answer 400', async () => {
    const sim = await simulator();
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
    const sim = await simulator({ faults: [{ endpoint: 'proxy_records.retry', malformed: true }] });
    const org = sim.fleet.organizations[0];
    await expect(retryProxyRecord(posthogClient(sim), org?.id as string, org?.records[0]?.id as string)).resolves.toBeUndefined();
  });
});
