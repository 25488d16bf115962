// The exporter's HTTP handler, a plain (Request) => Reply function (./reply.ts) so it is tested without a
// port: /metrics (from memory, gzip when asked), /-/healthy, /-/ready and a landing page.
import type { ScrapeBody } from '../metrics/scrape.js';
import type { BasicAuthCheck } from './basic-auth.js';
import { type LandingPageData, renderLandingPage } from './landing.js';
import { Reply } from './reply.js';

export interface HttpAppOptions {
  telemetryPath: string;
  version: string;
  /** The exposition, gzipped when asked: buffers to send at once, then the part rendered live. */
  scrapeMetrics: (gzipped: boolean) => Promise<ScrapeBody>;
  metricsContentType: string;
  /** Collectors and scopes that have not been polled once yet; empty when ready. */
  waitingFor: () => string[];
  /** What the landing page (`/`) shows, read at each request. */
  landing: () => Omit<LandingPageData, 'version' | 'telemetryPath' | 'ready'>;
  /** Read at every request, so a reloaded web config (SIGHUP) applies to the next one. */
  basicAuth?: BasicAuthCheck;
  /** Read at every request, like basicAuth. */
  headers?: Record<string, string>;
}

export type HttpApp = (request: Request) => Promise<Reply>;

/** Everything the exporter serves is read-only. */
export const ALLOWED_METHODS = 'GET, HEAD';

/** The answer to any other method; the server sends it too for a method no Request can carry (TRACE, CONNECT). */
export function methodNotAllowed(headers: Record<string, string> = {}): Reply {
  return Reply.of(405, { ...headers, allow: ALLOWED_METHODS, 'content-type': 'text/plain; charset=utf-8' }, 'Method Not Allowed\n');
}

/**
 * A /metrics reply: the live part is rendered first (a few kilobytes), so the length is known and a
 * failure is still a 500; then the prerendered buffers as they are (tens of megabytes at 10,000
 * tunnels, never copied) and the live part.
 */
async function metricsReply(scraped: ScrapeBody, headers: Record<string, string>): Promise<Reply> {
  const live = await scraped.live();
  const { prerendered } = scraped;
  const length = scraped.length + live.length;
  // Buffers that exist already (gzipped) go as one list; text made as it is read (plain, inflated) stays lazy.
  if (Array.isArray(prerendered)) return new Reply(200, headers, { length, chunks: [...prerendered, live] });
  async function* parts() {
    yield* prerendered;
    yield live;
  }
  return new Reply(200, headers, { length, chunks: parts() });
}

/**
 * Whether Accept-Encoding accepts gzip (RFC 9110 12.5.3): `gzip` (or `x-gzip`), else `*`, with a
 * q-value above 0. `gzip;q=0` refuses it; the server prefers gzip whenever it is acceptable.
 */
function acceptsGzip(header: string | null): boolean {
  let gzip: number | undefined;
  let any: number | undefined;
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...params] = part.split(';');
    const name = coding.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (name === '*') any = q;
  }
  return (gzip ?? any ?? 0) > 0;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const respond = (body: string, status: number, headers: Record<string, string>) => Reply.of(status, { ...options.headers, ...headers }, body);
  const text = (body: string, status = 200) => respond(body, status, { 'content-type': 'text/plain; charset=utf-8' });

  const route = async (request: Request): Promise<Reply> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(options.headers);
    const { pathname } = new URL(request.url);
    // Liveness and readiness answer without credentials, as container and Kubernetes probes need;
    // unauthenticated, readiness does not list what it waits for (account and organization ids).
    const probe = pathname === '/-/healthy' || pathname === '/-/ready';
    let authenticated = true;
    if (options.basicAuth) {
      const result = await options.basicAuth(request.headers.get('authorization'));
      authenticated = result === 'ok';
      if (result === 'busy' && !probe)
        return respond('Too Many Requests: credentials are being checked\n', 429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
      if (!authenticated && !probe) {
        return respond('Unauthorized\n', 401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic realm="cloudflare-tunnel-exporter"' });
      }
    }

    if (pathname === options.telemetryPath) {
      const gzipped = acceptsGzip(request.headers.get('accept-encoding'));
      const headers = {
        ...options.headers,
        'content-type': options.metricsContentType,
        vary: 'Accept-Encoding',
        ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
      };
      // HEAD renders nothing.
      if (request.method === 'HEAD') return new Reply(200, headers);
      return metricsReply(await options.scrapeMetrics(gzipped), headers);
    }
    if (pathname === '/-/healthy') return text('Healthy\n');
    if (pathname === '/-/ready') {
      const waiting = options.waitingFor();
      if (waiting.length === 0) return text('Ready\n');
      return text(authenticated ? `Not ready: waiting for the first poll of ${waiting.join(', ')}\n` : 'Not ready\n', 503);
    }
    if (pathname === '/') {
      const page = renderLandingPage({
        ...options.landing(),
        version: options.version,
        telemetryPath: options.telemetryPath,
        ready: options.waitingFor().length === 0,
      });
      return respond(page, 200, { 'content-type': 'text/html; charset=utf-8' });
    }
    return text('Not Found\n', 404);
  };

  // HEAD is GET without the body, for every path.
  return async (request) => {
    const reply = await route(request);
    return request.method === 'HEAD' ? reply.withoutBody() : reply;
  };
}
