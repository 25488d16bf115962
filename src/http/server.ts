// Serves an HttpApp on node:http or node:https (when the web config has TLS).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { HttpApp } from './app.js';
import type { WebConfig } from './web-config.js';

export interface RunningServer {
  /** The bound address, e.g. for port 0 in tests. */
  address(): AddressInfo;
  url: string;
  close(): Promise<void>;
}

function toRequest(req: http.IncomingMessage, scheme: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return new Request(`${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers });
}

export async function serve(app: HttpApp, listen: ListenAddress, web: WebConfig | undefined, log: Logger): Promise<RunningServer> {
  const scheme = web?.tls ? 'https' : 'http';
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    app(toRequest(req, scheme))
      .then(async (response) => {
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          headers[name] = value;
        });
        res.writeHead(response.status, headers);
        res.end(req.method === 'HEAD' ? undefined : Buffer.from(await response.arrayBuffer()));
      })
      .catch((err: unknown) => {
        log.error({ err }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('Internal Server Error\n');
      });
  };
  const server = web?.tls ? https.createServer({ ...web.tls }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: listen.port, ...(listen.host ? { host: listen.host } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  // A wildcard bind is reachable as localhost; a specific address is printed as bound.
  const wildcard = address.address === '::' || address.address === '0.0.0.0';
  const host = wildcard ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    address: () => address,
    url: `${scheme}://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A scrape in progress gets a moment to finish; then every socket goes.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
