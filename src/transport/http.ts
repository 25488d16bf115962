// The one HTTP client both APIs go through (undici). It owns what every request needs: auth
// headers, a deadline and the stop signal, pacing to the configured budget, Retry-After and
// `Ratelimit` lockouts, jittered retries of idempotent GETs, error classification and the
// api_* self-metrics. Each source's api.ts builds on `send`.
import { Agent, type Dispatcher, request } from 'undici';
import type { Lane, Pacer } from '../budget/window.js';
import { delay, steadyNow } from '../clock.js';
import type { Logger } from '../log.js';
import {
  ApiAbortedError,
  ApiAuthError,
  ApiCredentialNotAllowedError,
  ApiError,
  type ApiName,
  ApiNetworkError,
  ApiNotFoundError,
  ApiNotOrgAdminError,
  ApiRateLimitedError,
  ApiRequestError,
  ApiResponseError,
  ApiServerError,
  ApiTimeoutError,
} from './errors.js';

/**
 * The longest a Retry-After or a Ratelimit reset may hold requests back: twice Cloudflare's 5-minute
 * window. A server asking for more (a bug, or a proxy in between) would otherwise stop polling
 * until a restart.
 */
export const MAX_RETRY_AFTER_MS = 600_000;

/**
 * The largest response body read into memory. The largest real answer, a page of 1,000 tunnels, is
 * well under 10 MB; a body past this fails its call instead of growing the heap.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Receives what the self-metrics need; metrics/self.ts implements it. */
export interface ApiObserver {
  onRequest(api: ApiName, operation: string, code: string, seconds: number): void;
  onRateLimitRemaining(api: ApiName, remaining: number): void;
}

export interface ApiClientOptions {
  api: ApiName;
  baseUrl: string;
  /** Auth headers; kept out of every message and log line. */
  headers: Record<string, string>;
  dispatcher?: Dispatcher;
  /** Deadline for one attempt, headers and body. */
  timeoutMs?: number;
  /** Extra attempts for a GET that met a 5xx or a network error. */
  retries?: number;
  retryBaseMs?: number;
  /** Lockout after a 429 that carries no Retry-After. */
  defaultRetryAfterMs?: number;
  pacer?: Pacer;
  observer?: ApiObserver;
  log: Logger;
  now?: () => number;
  random?: () => number;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** A JSON body (POST). */
  json?: unknown;
  /** A path built with `apiPath`, relative to the base URL, or an absolute URL on the same origin. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Bounded label for api_requests_total. */
  operation: string;
  /** What a 401/403 means the credential lacks, for the error and the log line. */
  permission: string;
  /** False when the caller ignores the body of a success (a 2xx that is not JSON is then fine). */
  expectBody?: boolean;
  /** The largest body this call reads (MAX_RESPONSE_BYTES unless the resource knows better). */
  maxBytes?: number;
  /** The budget lane: `refresh` for the continuous connections refresh, `priority` for the rest. */
  lane?: Lane;
  signal?: AbortSignal;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ApiClient {
  readonly api: ApiName;
  readonly baseUrl: string;
  send(req: ApiRequest): Promise<ApiResponse>;
}

/**
 * Builds a path whose interpolated values are percent-encoded path segments (ids are data). A
 * segment that is empty, `.` or `..` is refused: `encodeURIComponent` leaves dots alone and URL
 * resolution would then climb out of the resource (an id `..` turned a record DELETE into the
 * organization's own endpoint).
 */
export function apiPath(strings: TemplateStringsArray, ...segments: (string | number)[]): string {
  return strings.reduce((out, s, i) => {
    if (i >= segments.length) return out + s;
    const segment = String(segments[i]);
    if (segment === '' || segment === '.' || segment === '..') {
      throw new Error(`refusing to build an API path with the segment ${JSON.stringify(segment)} (${strings.join('{}')})`);
    }
    return out + s + encodeURIComponent(segment);
  }, '');
}

/**
 * A path built with `apiPath` resolved against the base URL (which may carry a path prefix), or
 * an absolute URL (a `next` link) as it is.
 */
export function resolveUrl(baseUrl: string, path: string): URL {
  const base = new URL(`${baseUrl.replace(/\/+$/, '')}/`);
  return /^https?:\/\//.test(path) ? new URL(path) : new URL(path.replace(/^\/+/, ''), base);
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Parses the IETF draft `Ratelimit: "default";r=50;t=30` header Cloudflare sends. */
export function parseRateLimit(value: string | undefined): { remaining: number; resetSeconds?: number } | undefined {
  if (!value) return undefined;
  const r = /(?:^|;)\s*r=(\d+)/.exec(value);
  if (!r) return undefined;
  const t = /(?:^|;)\s*t=(\d+)/.exec(value);
  return { remaining: Number(r[1]), ...(t ? { resetSeconds: Number(t[1]) } : {}) };
}

const CLOUDFLARE_AUTH_CODES = new Set([10000, 9109]);
const CLOUDFLARE_RATE_LIMIT_CODES = new Set([10100, 971]);

class BodyTooLarge extends Error {}

/** Reads a body as text, refusing (and discarding the rest of) one over `limit` bytes. */
async function readLimited(body: Dispatcher.ResponseData['body'], contentLength: string | undefined, limit: number): Promise<string> {
  if (contentLength !== undefined && Number(contentLength) > limit) {
    body.destroy();
    throw new BodyTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new BodyTooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Characters of a server's error text kept for messages and logs. */
const DETAIL_LENGTH = 200;

/** PostHog's (Django REST framework's) error text: `{"detail": "..."}`, whole (cut after redaction). */
function errorDetail(body: unknown): string | undefined {
  const detail = typeof body === 'object' && body !== null ? (body as { detail?: unknown }).detail : undefined;
  return typeof detail === 'string' ? detail : undefined;
}

/** Cloudflare's own words in an error envelope: its errors' messages, joined. */
function cloudflareMessages(body: unknown): string | undefined {
  const errors = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  if (!Array.isArray(errors)) return undefined;
  const messages = errors.flatMap((e) =>
    typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' ? [(e as { message: string }).message] : [],
  );
  return messages.length > 0 ? messages.join('; ') : undefined;
}

/**
 * The credential values in auth headers (a bearer token without its scheme), so text a server
 * sent back can be cleaned of them before it reaches an error, a log line or the landing page.
 */
function secretsOf(headers: Record<string, string>): string[] {
  return Object.values(headers)
    .flatMap((v) => [v, v.replace(/^Bearer\s+/i, '')])
    .filter((v) => v.length >= 4);
}

const CREDENTIAL_NOT_ALLOWED = /does not support personal api key access/i;
const NOT_ORG_ADMIN = /organization access level is insufficient/i;

function cloudflareCodes(body: unknown): number[] {
  if (typeof body !== 'object' || body === null) return [];
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e) => (e as { code?: unknown }).code).filter((c): c is number => typeof c === 'number');
}

/** What one exchange brought back, before it is judged. */
interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Sends one attempt with its own deadline and the stop signal; network failures become typed errors. */
async function exchange(
  req: ApiRequest,
  url: URL,
  o: ApiClientOptions & { timeoutMs: number; dispatcher: Dispatcher },
  details: { api: ApiName; method: string; path: string },
): Promise<Exchange> {
  // One controller per attempt, aborted by its deadline or by the stop signal; both hooks are
  // removed when the attempt ends, so nothing hangs off the long-lived stop signal (combining
  // them with AbortSignal.any did: Node 20 keeps every combined signal on its source).
  const attemptController = new AbortController();
  let timedOut = false;
  const deadlineTimer = setTimeout(() => {
    timedOut = true;
    attemptController.abort(new Error(`no complete response within ${o.timeoutMs}ms`));
  }, o.timeoutMs);
  const onStop = () => attemptController.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onStop, { once: true });
  try {
    const res = await request(url, {
      method: req.method,
      headers: {
        accept: 'application/json',
        'user-agent': 'cloudflare-tunnel-exporter',
        ...(req.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      ...(req.json !== undefined ? { body: JSON.stringify(req.json) } : {}),
      signal: attemptController.signal,
      dispatcher: o.dispatcher,
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      text: await readLimited(res.body, headerValue(res.headers, 'content-length'), req.maxBytes ?? MAX_RESPONSE_BYTES),
    };
  } catch (cause) {
    if (cause instanceof BodyTooLarge)
      throw new ApiResponseError(`response body is larger than ${req.maxBytes ?? MAX_RESPONSE_BYTES} bytes: not read`, details);
    if (req.signal?.aborted) throw new ApiAbortedError('aborted: the exporter is stopping', { ...details, cause });
    // undici's own connect/headers/body timeouts carry codes like UND_ERR_HEADERS_TIMEOUT.
    const code = (cause as { code?: unknown }).code;
    if (timedOut || (typeof code === 'string' && code.startsWith('UND_ERR_') && code.includes('TIMEOUT'))) {
      throw new ApiTimeoutError(`no complete response within ${o.timeoutMs}ms`, { ...details, cause });
    }
    throw new ApiNetworkError(`request failed: ${(cause as Error).message}`, { ...details, cause });
  } finally {
    clearTimeout(deadlineTimer);
    req.signal?.removeEventListener('abort', onStop);
  }
}

/** Requests held back after a rate limit, for every caller of one client. */
class Lockout {
  private until = 0;

  constructor(
    private readonly api: ApiName,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** How long requests are still held (0 or less: not held). */
  remaining(): number {
    return this.until - this.now();
  }

  /** Holds every request for `asked` ms, at most MAX_RETRY_AFTER_MS; returns the time held. */
  hold(asked: number, why: string): number {
    const ms = Math.min(asked, MAX_RETRY_AFTER_MS);
    const until = this.now() + ms;
    if (until <= this.until) return ms;
    this.until = until;
    this.log.warn(
      {
        api: this.api,
        lockout_seconds: Math.ceil(ms / 1000),
        reason: why,
        ...(asked > ms ? { asked_seconds: Math.ceil(asked / 1000), capped_at_seconds: MAX_RETRY_AFTER_MS / 1000 } : {}),
      },
      asked > ms
        ? 'API rate limit reached: holding all requests to this API (the wait asked for is capped)'
        : 'API rate limit reached: holding all requests to this API',
    );
    return ms;
  }
}

/** What an answer means: its body, or the typed error for its status and codes. */
function judge(
  req: ApiRequest,
  answer: Exchange,
  details: { api: ApiName; method: string; path: string },
  o: { lockout: Lockout; redact: (text: string) => string; now: () => number; defaultRetryAfterMs: number },
): ApiResponse {
  const { status, headers, text } = answer;
  let body: unknown;
  let parsed = true;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = false;
  }
  const codes = cloudflareCodes(body);
  const withStatus = { ...details, status, codes };
  if (status === 429 || codes.some((c) => CLOUDFLARE_RATE_LIMIT_CODES.has(c))) {
    const ms = o.lockout.hold(parseRetryAfter(headerValue(headers, 'retry-after'), o.now()) ?? o.defaultRetryAfterMs, `HTTP ${status}`);
    throw new ApiRateLimitedError(ms, { ...withStatus, sent: true });
  }
  if (status === 401 || status === 403 || codes.some((c) => CLOUDFLARE_AUTH_CODES.has(c))) {
    const raw = errorDetail(body);
    // Redacted whole, then cut: a secret straddling the cut would otherwise leave a part behind.
    const detail = raw === undefined ? undefined : o.redact(raw).slice(0, DETAIL_LENGTH);
    if (status === 403 && detail && CREDENTIAL_NOT_ALLOWED.test(detail)) throw new ApiCredentialNotAllowedError(detail, withStatus);
    if (status === 403 && detail && NOT_ORG_ADMIN.test(detail)) throw new ApiNotOrgAdminError('organization admin membership', { ...withStatus, detail });
    throw new ApiAuthError(req.permission, { ...withStatus, ...(detail ? { detail } : {}) });
  }
  if (status === 404) {
    // The API's own words: Cloudflare's 7003 says the id may be wrong.
    const detail = errorDetail(body) ?? cloudflareMessages(body);
    const what = `not found${codes.length > 0 ? ` (codes ${codes.join(', ')})` : ''}`;
    throw new ApiNotFoundError(detail ? `${what}: "${o.redact(detail).slice(0, DETAIL_LENGTH)}"` : what, withStatus);
  }
  if (status >= 500) throw new ApiServerError('server error', withStatus);
  if (status >= 400) throw new ApiRequestError(codes.length > 0 ? `request rejected (codes ${codes.join(', ')})` : 'request rejected', withStatus);
  if (!parsed && req.expectBody !== false) throw new ApiResponseError('response body is not JSON', withStatus);
  return { status, body };
}

/** The URL of a request: its path under the base and its query. Never on another origin than the base's. */
function requestUrl(baseUrl: string, base: URL, req: ApiRequest, api: ApiName): URL {
  const url = resolveUrl(baseUrl, req.path);
  if (url.origin !== base.origin) {
    // Never send our credential to a host the user did not configure (e.g. a `next` link).
    throw new ApiResponseError(`refusing to follow a URL on another origin (${url.origin})`, { api, method: req.method, path: url.pathname });
  }
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

/** What an answer's Ratelimit header says: the requests left, and no more until it resets when none are. */
function heedRateLimit(answer: Exchange, lockout: Lockout, remaining: (left: number) => void): void {
  const rateLimit = parseRateLimit(headerValue(answer.headers, 'ratelimit'));
  if (!rateLimit) return;
  remaining(rateLimit.remaining);
  if (rateLimit.remaining === 0 && rateLimit.resetSeconds) lockout.hold(rateLimit.resetSeconds * 1000, 'Ratelimit header: no requests remaining');
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const now = options.now ?? steadyNow;
  const random = options.random ?? Math.random;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 2;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const dispatcher = options.dispatcher ?? new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const base = resolveUrl(options.baseUrl, '');
  const { api, log } = options;
  const secrets = secretsOf(options.headers);
  const judging = {
    lockout: new Lockout(api, log, now),
    /** Server text with every configured secret replaced: a server may echo the key it refuses. */
    redact: (text: string) => secrets.reduce((out, secret) => out.split(secret).join('[REDACTED]'), text),
    now,
    defaultRetryAfterMs: options.defaultRetryAfterMs ?? 60_000,
  };
  const exchangeOptions = { ...options, timeoutMs, dispatcher };

  async function attempt(req: ApiRequest, url: URL, path: string): Promise<ApiResponse> {
    const details = { api, method: req.method, path };
    const wait = judging.lockout.remaining();
    if (wait > 0) throw new ApiRateLimitedError(wait, { ...details, sent: false });
    if (options.pacer) {
      try {
        await options.pacer.take(req.lane ?? 'priority', req.signal);
      } catch (cause) {
        throw new ApiAbortedError('aborted while waiting for the request budget', { ...details, cause });
      }
    }
    const started = performance.now();
    const record = (code: string) => options.observer?.onRequest(api, req.operation, code, (performance.now() - started) / 1000);
    let answer: Exchange;
    try {
      answer = await exchange(req, url, exchangeOptions, details);
    } catch (err) {
      record('error');
      throw err;
    }
    record(String(answer.status));
    heedRateLimit(answer, judging.lockout, (remaining) => options.observer?.onRateLimitRemaining(api, remaining));
    return judge(req, answer, details, judging);
  }

  return {
    api,
    baseUrl: options.baseUrl,
    async send(req) {
      const url = requestUrl(options.baseUrl, base, req, api);
      const path = url.pathname;
      const attempts = req.method === 'GET' ? retries + 1 : 1;
      for (let i = 1; ; i++) {
        try {
          return await attempt(req, url, path);
        } catch (err) {
          if (!(err instanceof ApiError) || !err.retryable || i >= attempts) throw err;
          // The retry share of the budget is spent: this call fails now rather than starve the next poll.
          if (options.pacer && !options.pacer.allowRetry()) throw err;
          const backoff = retryBaseMs * 2 ** (i - 1) * (0.5 + random());
          log.debug({ api, operation: req.operation, attempt: i, backoff_ms: Math.round(backoff), err: err.message }, 'retrying request');
          try {
            await delay(backoff, req.signal);
          } catch (cause) {
            throw new ApiAbortedError('aborted: the exporter is stopping', { api, method: req.method, path, cause });
          }
        }
      }
    },
  };
}
