// Cloudflare's v4 response envelope and its page-number pagination.
// https://developers.cloudflare.com/fundamentals/api/ : {success, errors, messages, result, result_info}
import { z } from 'zod';
import { ApiRequestError, ApiResponseError } from '../errors.js';
import type { ApiClient, ApiRequest } from '../http.js';

const resultInfo = z
  .object({
    count: z.number().optional(),
    page: z.number().optional(),
    per_page: z.number().optional(),
    total_count: z.number().optional(),
  })
  .nullish();

const envelope = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string().optional() })).default([]),
  result: z.unknown(),
  result_info: resultInfo,
});

export type ResultInfo = z.infer<typeof resultInfo>;

/** Sends a request and returns the envelope's `result`, parsed with `schema`. */
export async function sendCloudflare<T>(
  client: ApiClient,
  req: ApiRequest,
  schema: z.ZodType<T>,
): Promise<{ result: T; resultInfo: ResultInfo }> {
  const res = await client.send(req);
  const details = { api: client.api, method: req.method, path: req.path, status: res.status };
  const env = envelope.safeParse(res.body);
  if (!env.success) throw new ApiResponseError('response is not a Cloudflare API envelope', { ...details, cause: env.error });
  if (!env.data.success) {
    const codes = env.data.errors.map((e) => e.code).filter((c): c is number => c !== undefined);
    throw new ApiRequestError(`request failed (codes ${codes.join(', ') || 'none'})`, { ...details, codes });
  }
  const result = schema.safeParse(env.data.result);
  if (!result.success) {
    const first = result.error.issues[0];
    const where = first ? `${first.path.join('.') || 'result'}: ${first.message}` : 'unexpected shape';
    throw new ApiResponseError(`unexpected result shape (${where})`, { ...details, cause: result.error });
  }
  return { result: result.data, resultInfo: env.data.result_info };
}

/**
 * Sends a write whose result we do not use. Cloudflare answers with its envelope; a bare 2xx
 * without one (a 204) is a success too, and an envelope with `success: false` is not.
 */
export async function sendCloudflareWrite(client: ApiClient, req: ApiRequest): Promise<void> {
  const res = await client.send({ ...req, expectBody: false });
  const env = envelope.safeParse(res.body);
  if (env.success && !env.data.success) {
    const codes = env.data.errors.map((e) => e.code).filter((c): c is number => c !== undefined);
    throw new ApiRequestError(`request failed (codes ${codes.join(', ') || 'none'})`, { api: client.api, method: req.method, path: req.path, status: res.status, codes });
  }
}

/** Hard stop for a list whose server ignores every stop signal below. */
const MAX_PAGES = 500;

/**
 * Reads every page of a list endpoint. Stops on `total_count`, on an empty page, and on a page
 * that repeats ids already seen (some Cloudflare list endpoints ignore `page`); `result_info` has
 * no `total_pages`.
 */
export async function listAllPages<T extends { id: string }>(
  client: ApiClient,
  req: ApiRequest & { perPage: number },
  item: z.ZodType<T>,
): Promise<T[]> {
  const seen = new Set<string>();
  const items: T[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { result, resultInfo } = await sendCloudflare(
      client,
      { ...req, query: { ...req.query, page, per_page: req.perPage } },
      z.array(item),
    );
    if (result.length === 0) break;
    let repeated = false;
    for (const entry of result) {
      if (seen.has(entry.id)) {
        repeated = true;
        continue;
      }
      seen.add(entry.id);
      items.push(entry);
    }
    if (repeated) break;
    const total = resultInfo?.total_count;
    if (total !== undefined && items.length >= total) break;
    // A short page is the last one, when the server says what a full page is.
    const pageSize = resultInfo?.per_page;
    if (total === undefined && pageSize !== undefined && result.length < pageSize) break;
  }
  return items;
}
