// The exporter's HTTP handler, a plain (Request) => Response function so it is tested without a
// port: /metrics (from memory, gzip when asked), /-/healthy, /-/ready and a landing page.
import type { ScrapeBody } from '../metrics/exporter-metrics.js';
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

/**
 * The buffers behind a /metrics response. The server writes them to the socket as they are (tens of
 * megabytes at 10,000 tunnels: copying them into a fetch body on every scrape would cost more than
 * the write), with the live part and a Content-Length; the Response itself streams the same
 * buffers, so tests can read it as usual.
 */
const rawBodies = new WeakMap<Response, ScrapeBody>();

export function rawBody(response: Response): ScrapeBody | undefined {
  return rawBodies.get(response);
}

function bufferResponse(scraped: ScrapeBody, init: ResponseInit): Response {
  async function* parts() {
    yield* scraped.prerendered;
    yield await scraped.live();
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
    // Nothing is pulled until the body is read: the server writes the same parts itself (rawBody).
    { highWaterMark: 0 },
  );
  const response = new Response(body, init);
  rawBodies.set(response, scraped);
  return response;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const respond = (body: string | Uint8Array | null, status: number, headers: Record<string, string>) =>
    new Response(body, { status, headers: { ...options.headers, ...headers } });
  const text = (body: string, status = 200) => respond(body, status, { 'content-type': 'text/plain; charset=utf-8' });

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return respond('Method Not Allowed\n', 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    }
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
      return bufferResponse(await options.scrapeMetrics(gzipped), {
        status: 200,
        headers: {
          ...options.headers,
          'content-type': options.metricsContentType,
          vary: 'Accept-Encoding',
          ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
        },
      });
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
}
