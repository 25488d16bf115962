// Cloudflare's v4 response envelope and its page-number pagination.
// https://developers.cloudflare.com/fundamentals/api/ : {success, errors, messages, result, result_info}
import { z } from 'zod';
import { ApiRequestError, ApiResponseError, shapeProblem } from './errors.js';
import type { ApiClient, ApiRequest } from './http.js';

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
  result: z.unknown().optional(),
  result_info: resultInfo,
});

export type ResultInfo = z.infer<typeof resultInfo>;

/** An envelope with `success: false`: the request was refused, with Cloudflare's codes. */
function refused(errors: { code?: number | undefined }[], details: { api: ApiClient['api']; method: string; path: string; status: number }): ApiRequestError {
  const codes = errors.map((e) => e.code).filter((c): c is number => c !== undefined);
  return new ApiRequestError(`request failed (codes ${codes.join(', ') || 'none'})`, { ...details, codes });
}

/** Sends a request and returns the envelope's `result`, parsed with `schema`. */
export async function sendCloudflare<T>(client: ApiClient, req: ApiRequest, schema: z.ZodType<T>): Promise<{ result: T; resultInfo: ResultInfo }> {
  const res = await client.send(req);
  const details = { api: client.api, method: req.method, path: req.path, status: res.status };
  const env = envelope.safeParse(res.body);
  if (!env.success) throw new ApiResponseError('response is not a Cloudflare API envelope', { ...details, cause: env.error });
  if (!env.data.success) throw refused(env.data.errors, details);
  const result = schema.safeParse(env.data.result);
  if (!result.success) {
    throw new ApiResponseError(`unexpected result shape (${shapeProblem(result.error, 'result')})`, { ...details, cause: result.error });
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
  if (env.success && !env.data.success) throw refused(env.data.errors, { api: client.api, method: req.method, path: req.path, status: res.status });
}

/**
 * The most pages a list without `total_count` may take (100,000 tunnels at per_page=1000). With
 * `total_count`, the bound is the page count it implies plus one.
 */
export const MAX_PAGES = 100;

/** Page schemas, built once per item schema (not once per call). */
const pageSchemas = new WeakMap<z.ZodType, z.ZodType>();
function pageSchemaOf<T>(item: z.ZodType<T>): z.ZodType<T[]> {
  let schema = pageSchemas.get(item);
  if (!schema) {
    schema = z.array(item);
    pageSchemas.set(item, schema);
  }
  return schema as z.ZodType<T[]>;
}

export interface ListOptions {
  /** Told how many ids a walk saw again (a tunnel that moved between pages); they are skipped. */
  onRepeatedIds?: (count: number) => void;
}

/**
 * Reads every page of a page-number list (`result_info` has no `total_pages`). `total_count` is
 * trusted: a page that repeats ids already seen is not a stop (the repeats are skipped and
 * reported), and the walk ends once that many distinct items are read; an empty page before then
 * contradicts the total and fails the walk (an empty first page once emptied a fleet). Without
 * `total_count`, a short page (when the server says what a full page is) or a page of nothing new
 * (an endpoint that ignores `page`) ends it. Every walk is bounded: past ceil(total_count /
 * per_page) + 1 pages, or MAX_PAGES without a total, it fails with an error saying so, instead of
 * returning a partial list as if it were complete.
 */
export async function listAllPages<T extends { id: string }>(
  client: ApiClient,
  req: ApiRequest & { perPage: number },
  item: z.ZodType<T>,
  options: ListOptions = {},
): Promise<T[]> {
  const seen = new Set<string>();
  const items: T[] = [];
  const pageSchema = pageSchemaOf(item);
  let repeated = 0;
  let total: number | undefined;
  let perPage = req.perPage;
  try {
    for (let page = 1; ; page++) {
      const bound = total !== undefined ? Math.ceil(total / perPage) + 1 : MAX_PAGES;
      if (page > bound) {
        const what = total !== undefined ? `total_count ${total}, per_page ${perPage}` : 'no total_count';
        throw new ApiResponseError(`pagination did not end within ${bound} pages (${what}); ${items.length} distinct items read`, {
          api: client.api,
          method: req.method,
          path: req.path,
        });
      }
      const { result, resultInfo } = await sendCloudflare(client, { ...req, query: { ...req.query, page, per_page: req.perPage } }, pageSchema);
      total = resultInfo?.total_count ?? total;
      if (result.length === 0) {
        // An empty page short of the total contradicts itself: never a fleet emptied as a success.
        if (total !== undefined && items.length < total) {
          throw new ApiResponseError(`page ${page} is empty but total_count is ${total}; ${items.length} distinct items read`, {
            api: client.api,
            method: req.method,
            path: req.path,
          });
        }
        break;
      }
      let fresh = 0;
      for (const entry of result) {
        if (seen.has(entry.id)) {
          repeated++;
          continue;
        }
        seen.add(entry.id);
        items.push(entry);
        fresh++;
      }
      // The server's own page size, if it says and caps ours (Cloudflare caps per_page at 1000).
      if (resultInfo?.per_page !== undefined && resultInfo.per_page > 0) perPage = Math.min(perPage, resultInfo.per_page);
      if (total !== undefined) {
        if (items.length >= total) break;
        continue;
      }
      if (resultInfo?.per_page !== undefined && result.length < resultInfo.per_page) break;
      if (fresh === 0) break;
    }
  } finally {
    if (repeated > 0) options.onRepeatedIds?.(repeated);
  }
  return items;
}
