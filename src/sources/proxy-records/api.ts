// PostHog managed reverse proxy records.
// GET  /api/organizations/{org}/proxy_records/            list (three shapes, see below)
// POST /api/organizations/{org}/proxy_records/            create {domain}      (organization:write)
// GET  /api/organizations/{org}/proxy_records/{id}/       one record
// DELETE /api/organizations/{org}/proxy_records/{id}/     waiting/erroring/timed_out go at once (organization:write)
// POST /api/organizations/{org}/proxy_records/{id}/retry/ from erroring, timed_out or issuing; the
//      action declares no API scope, so PostHog refuses personal API keys on it (403)
// Source: PostHog's posthog/api/proxy_record.py and posthog/permissions.py.
import { z } from 'zod';
import { ApiResponseError, shapeProblem } from '../../transport/errors.js';
import { type ApiClient, apiPath, resolveUrl } from '../../transport/http.js';
import { uuidId } from '../../transport/ids.js';

const ORGANIZATION_READ = 'organization:read';
const ORGANIZATION_WRITE = 'organization:write';

export const apiProxyRecord = z.object({
  id: uuidId,
  domain: z.string().default(''),
  target_cname: z.string().nullish(),
  status: z.string().nullish(),
  message: z.string().nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type ApiProxyRecord = z.infer<typeof apiProxyRecord>;

// Today: {results, max_proxy_records}. Older servers: a bare array, or DRF pagination
// {count, next, previous, results} whose `next` is followed.
const listBody = z.union([
  z.array(apiProxyRecord).transform((results) => ({ results, max: undefined, next: undefined, count: undefined })),
  z
    .object({
      results: z.array(apiProxyRecord),
      max_proxy_records: z.number().nullish(),
      next: z.string().nullish(),
      count: z.number().nullish(),
    })
    .transform((b) => ({ results: b.results, max: b.max_proxy_records ?? undefined, next: b.next ?? undefined, count: b.count ?? undefined })),
]);

export interface ProxyRecordList {
  records: ApiProxyRecord[];
  maxProxyRecords: number | undefined;
}

/** The most pages a list without `count` may take. */
const MAX_PAGES = 50;

function parse<T>(schema: z.ZodType<T>, body: unknown, client: ApiClient, method: string, path: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new ApiResponseError(`unexpected response shape (${shapeProblem(result.error, 'body')})`, { api: client.api, method, path, cause: result.error });
  }
  return result.data;
}

/**
 * Reads the organization's records, following `next` on older paginated servers. Every walk is
 * bounded: a `next` that points at a page already read, or more pages than `count` implies (plus
 * one), or MAX_PAGES without a count, fails the call with an error saying so.
 */
export async function listProxyRecords(client: ApiClient, organizationId: string, signal?: AbortSignal): Promise<ProxyRecordList> {
  const records: ApiProxyRecord[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  let maxProxyRecords: number | undefined;
  let bound = MAX_PAGES;
  let path: string | undefined = apiPath`/api/organizations/${organizationId}/proxy_records/`;
  // The first path is relative to the base URL, `next` links are absolute: compare them resolved.
  const resolved = (p: string) => resolveUrl(client.baseUrl, p).href;
  const fail = (why: string, at: string) => new ApiResponseError(`${why}; ${records.length} records read`, { api: client.api, method: 'GET', path: at });
  for (let page = 1; path !== undefined; page++) {
    if (page > bound) throw fail(`pagination did not end within ${bound} pages`, path);
    visited.add(resolved(path));
    const res = await client.send({
      method: 'GET',
      path,
      operation: 'list_proxy_records',
      permission: ORGANIZATION_READ,
      signal,
    });
    const body: z.infer<typeof listBody> = parse(listBody, res.body, client, 'GET', path);
    for (const r of body.results) {
      if (!seen.has(r.id)) {
        seen.add(r.id);
        records.push(r);
      }
    }
    maxProxyRecords = body.max ?? maxProxyRecords;
    if (page === 1 && body.count !== undefined && body.results.length > 0) bound = Math.ceil(body.count / body.results.length) + 1;
    if (body.next !== undefined && visited.has(resolved(body.next))) throw fail(`the next link points at a page already read (${body.next})`, path);
    path = body.next;
  }
  return { records, maxProxyRecords };
}

export async function getProxyRecord(client: ApiClient, organizationId: string, recordId: string, signal?: AbortSignal): Promise<ApiProxyRecord> {
  const path = apiPath`/api/organizations/${organizationId}/proxy_records/${recordId}/`;
  const res = await client.send({
    method: 'GET',
    path,
    operation: 'get_proxy_record',
    permission: ORGANIZATION_READ,
    signal,
  });
  return parse(apiProxyRecord, res.body, client, 'GET', path);
}

export async function retryProxyRecord(client: ApiClient, organizationId: string, recordId: string, signal?: AbortSignal): Promise<void> {
  await client.send({
    method: 'POST',
    path: apiPath`/api/organizations/${organizationId}/proxy_records/${recordId}/retry/`,
    operation: 'retry_proxy_record',
    permission: ORGANIZATION_WRITE,
    expectBody: false,
    signal,
  });
}

/** Creates a record for `domain`; PostHog answers with the new record (a new id, status waiting). */
export async function createProxyRecord(client: ApiClient, organizationId: string, domain: string, signal?: AbortSignal): Promise<ApiProxyRecord> {
  const path = apiPath`/api/organizations/${organizationId}/proxy_records/`;
  const res = await client.send({
    method: 'POST',
    path,
    json: { domain },
    operation: 'create_proxy_record',
    permission: ORGANIZATION_WRITE,
    signal,
  });
  return parse(apiProxyRecord, res.body, client, 'POST', path);
}

export async function deleteProxyRecord(client: ApiClient, organizationId: string, recordId: string, signal?: AbortSignal): Promise<void> {
  await client.send({
    method: 'DELETE',
    path: apiPath`/api/organizations/${organizationId}/proxy_records/${recordId}/`,
    operation: 'delete_proxy_record',
    permission: ORGANIZATION_WRITE,
    expectBody: false,
    signal,
  });
}
