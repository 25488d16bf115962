// The exporter's HTTP handler, a plain (Request) => Response function so it is tested without a
// port: /metrics (from memory, gzip when asked), /-/healthy, /-/ready and a landing page.
import type { ScrapeBody } from '../metrics/scrape.js';
import type { BasicAuthCheck } from './basic-auth.js';
import { type LandingPageData, renderLandingPage } from './landing.js';

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

export type HttpApp = (request: Request) => Promise<Response>;

/** Everything the exporter serves is read-only. */
export const ALLOWED_METHODS = 'GET, HEAD';

/** The answer to any other method; the server sends it too for a method no Request can carry (TRACE, CONNECT). */
export function methodNotAllowed(headers: Record<string, string> = {}): Response {
  return new Response('Method Not Allowed\n', { status: 405, headers: { ...headers, allow: ALLOWED_METHODS, 'content-type': 'text/plain; charset=utf-8' } });
}

/**
 * A /metrics response: the live part is rendered first (a few kilobytes), so the length is known
 * and a failure is still a 500; then the body streams the prerendered buffers as they are (tens of
 * megabytes at 10,000 tunnels, never copied) and the live part, one chunk per read.
 */
async function metricsResponse(scraped: ScrapeBody, headers: Record<string, string>): Promise<Response> {
  const live = await scraped.live();
  const { prerendered } = scraped;
  const init = { status: 200, headers: { ...headers, 'content-length': String(scraped.length + live.length) } };
  if (Array.isArray(prerendered)) {
    // Buffers that exist already (gzipped): all queued at once, so a reader takes them without a round trip each.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of prerendered) controller.enqueue(chunk);
        controller.enqueue(live);
        controller.close();
      },
    });
    return new Response(body, init);
  }
  // Text made as it is read (plain, inflated): one chunk per read, at the reader's pace.
  async function* parts() {
    yield* prerendered;
    yield live;
  }
  const chunks = parts();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, init);
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const respond = (body: string | Uint8Array | null, status: number, headers: Record<string, string>) =>
    new Response(body, { status, headers: { ...options.headers, ...headers } });
  const text = (body: string, status = 200) => respond(body, status, { 'content-type': 'text/plain; charset=utf-8' });

  const route = async (request: Request): Promise<Response> => {
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
      const gzipped = /\bgzip\b/i.test(request.headers.get('accept-encoding') ?? '');
      const headers = {
        ...options.headers,
        'content-type': options.metricsContentType,
        vary: 'Accept-Encoding',
        ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
      };
      // HEAD renders nothing.
      if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
      return metricsResponse(await options.scrapeMetrics(gzipped), headers);
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
    const response = await route(request);
    if (request.method !== 'HEAD' || response.body === null) return response;
    await response.body.cancel();
    return new Response(null, { status: response.status, headers: response.headers });
  };
}
