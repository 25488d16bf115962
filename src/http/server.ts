// Serves an HttpApp on node:http or node:https (when the web config has TLS).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ListenAddress } from '../config/schema.js';
import type { Logger } from '../log.js';
import { ALLOWED_METHODS, type HttpApp, methodNotAllowed } from './app.js';
import type { Reply } from './reply.js';
import type { WebConfig } from './web-config.js';

export interface RunningServer {
  /** The bound address, e.g. for port 0 in tests. */
  address(): AddressInfo;
  url: string;
  /** Applies a reloaded web config's TLS to new connections (an HTTPS server stays HTTPS). */
  reloadTls(tls: NonNullable<WebConfig['tls']>): void;
  close(): Promise<void>;
}

/** Methods the fetch Request cannot carry: answered with the app's 405 without building one. */
const NO_REQUEST = new Set(['CONNECT', 'TRACE', 'TRACK']);

class BadRequest extends Error {}

/**
 * The node request as a fetch Request. Throws BadRequest for what no Request can be built from (a
 * Host that is not a host, a target that is not a path): the client's mistake, answered with 400.
 */
function toRequest(req: http.IncomingMessage, scheme: string): Request {
  let url: URL;
  const target = req.url ?? '/';
  // The absolute form (`GET http://host/metrics`, as a proxy sends it): its authority is the host.
  const absolute = /^https?:\/\//i.test(target);
  try {
    url = absolute ? new URL(target) : new URL(`${scheme}://${req.headers.host ?? 'localhost'}${target}`);
  } catch (cause) {
    throw new BadRequest('invalid Host header or request target', { cause });
  }
  if (url.host === '' || !(absolute || target.startsWith('/'))) throw new BadRequest('invalid Host header or request target');
  if (absolute) url = new URL(`${scheme}://${url.host}${url.pathname}${url.search}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return new Request(url, { method: req.method ?? 'GET', headers });
}

/** The SANs of a peer certificate ("DNS:a, IP Address:1.2.3.4, email:x@y") as bare values. */
function subjectAltNames(text: string | undefined): string[] {
  return (text ?? '')
    .split(/,\s*/)
    .map((part) => part.slice(part.indexOf(':') + 1))
    .filter(Boolean);
}

/**
 * What exporter-toolkit's client_auth_type and client_allowed_sans require beyond what node:tls
 * enforces in the handshake: a certificate for RequireAnyClientCert, a verified one whenever one is
 * given under VerifyClientCertIfGiven, and one of the allowed SANs. Undefined when all is well.
 */
function clientCertProblem(socket: TLSSocket, tls: NonNullable<WebConfig['tls']>): string | undefined {
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && Object.keys(cert).length > 0;
  if (tls.clientAuth === 'RequireAnyClientCert' && !presented) return 'no client certificate';
  if ((tls.clientAuth === 'VerifyClientCertIfGiven' || tls.clientAuth === 'RequireAndVerifyClientCert') && presented && !socket.authorized) {
    return `client certificate not verified by client_ca_file (${String(socket.authorizationError)})`;
  }
  if (tls.allowedSans) {
    if (!presented) return 'client_allowed_sans is set and no client certificate was given';
    const sans = subjectAltNames(cert.subjectaltname);
    if (!sans.some((san) => tls.allowedSans?.includes(san))) return `client certificate SANs (${sans.join(', ') || 'none'}) are not in client_allowed_sans`;
  }
  return undefined;
}

/** Bytes of a body made as it goes out that may wait in the response's buffer. */
const QUEUED_AT_MOST = 4 * 1024 * 1024;

/** Resolves when the response can take more, or is gone. */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes a Reply: its status, its headers with the body's length, and its chunks. Chunks that exist
 * already go in one write (the prerendered /metrics: about 180 buffers of one gzip stream at 10,000
 * tunnels, one writev); a body made as it goes (plain text inflated) is read at the client's pace,
 * a few megabytes queued at most, and no further once the client has left.
 */
async function send(res: http.ServerResponse, reply: Reply): Promise<void> {
  const headers = Object.fromEntries(reply.headers);
  const { body } = reply;
  if (body) headers['content-length'] = String(body.length);
  res.writeHead(reply.status, headers);
  if (!body) {
    res.end();
    return;
  }
  const { chunks } = body;
  if (Array.isArray(chunks)) {
    res.cork();
    for (const chunk of chunks) res.write(chunk);
    res.uncork();
  } else {
    // Leaving the loop early (the client left) ends the iterable: a plain body is not inflated further.
    for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
      if (res.destroyed) break;
      res.write(chunk);
      if (res.writableLength > QUEUED_AT_MOST) await drained(res);
    }
  }
  if (!res.destroyed) res.end();
}

function plain(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', ...extra });
  res.end(`${text}\n`);
}

/**
 * What one client may hold. Prometheus keeps one or two connections; past the cap, the connection
 * idle longest (never sent a request, or keep-alive between requests) goes first, so idle sockets
 * are dropped before a scrape is (22,000 idle sockets once exhausted the descriptors and failed 45
 * of 66 scrapes).
 */
export interface ConnectionLimits {
  /** Open connections at most. */
  maxConnections: number;
  /** A connection that sends no complete request in this long is closed (Node's headersTimeout only starts with the first byte). */
  firstRequestTimeoutMs: number;
}

const CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 512, firstRequestTimeoutMs: 10_000 };

/** Node's headersTimeout and requestTimeout, shorter than its defaults (60 s, 300 s). */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Keeps the connections within the limits: each must send a first request in time; past the cap,
 * the one idle longest goes. `request` marks a socket busy until its response finishes.
 */
function guardConnections(server: http.Server, tls: boolean, limits: ConnectionLimits) {
  /** Connections with no request in progress, longest idle first; those that have sent one. */
  const idle = new Set<import('node:net').Socket>();
  const served = new WeakSet<import('node:net').Socket>();
  let open = 0;
  // The socket requests arrive on: the TCP one, or the TLS one once its handshake is done.
  const admit = (socket: import('node:net').Socket) => {
    open++;
    socket.once('close', () => {
      open--;
      idle.delete(socket);
    });
    idle.add(socket);
    socket.setTimeout(limits.firstRequestTimeoutMs, () => {
      if (!served.has(socket)) socket.destroy();
    });
    if (open > limits.maxConnections) {
      const oldest = [...idle].find((s) => s !== socket);
      (oldest ?? socket).destroy();
    }
  };
  server.on(tls ? 'secureConnection' : 'connection', admit);
  return {
    request(req: http.IncomingMessage, res: http.ServerResponse) {
      const socket = req.socket;
      idle.delete(socket);
      if (!served.has(socket)) {
        served.add(socket);
        socket.setTimeout(0);
      }
      // Idle again once answered (keep-alive), and then the newest idle one.
      res.once('finish', () => {
        if (!socket.destroyed) idle.add(socket);
      });
    },
  };
}

/** Answers one node request with the app's Reply: 400 for what no Request can be built from, 500 when the app fails. */
function answerWith(app: HttpApp, scheme: string, log: Logger) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let request: Request | undefined;
    try {
      if (!NO_REQUEST.has(req.method ?? '')) request = toRequest(req, scheme);
    } catch (err) {
      log.debug({ err: (err as Error).message, host: req.headers.host, target: req.url }, 'bad request');
      plain(res, 400, 'Bad Request');
      return;
    }
    (request ? app(request) : Promise.resolve(methodNotAllowed()))
      .then((reply) => send(res, reply))
      .catch((err: unknown) => {
        log.error({ err }, 'HTTP handler failed');
        // Once part of a body is out, cutting the response short is what tells the client it failed.
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('Internal Server Error\n');
      });
  };
}

/** Listens, and the URL the server is reached at: a wildcard bind as localhost, a specific address as bound. */
async function listenOn(server: http.Server, listen: ListenAddress, scheme: string): Promise<{ address: AddressInfo; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: listen.port, ...(listen.host ? { host: listen.host } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const wildcard = address.address === '::' || address.address === '0.0.0.0';
  const host = wildcard ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { address, url: `${scheme}://${host}:${address.port}` };
}

export async function serve(
  app: HttpApp,
  listen: ListenAddress,
  web: WebConfig | undefined,
  log: Logger,
  limits: Partial<ConnectionLimits> = {},
): Promise<RunningServer> {
  const connectionLimits = { ...CONNECTION_LIMITS, ...limits };
  const scheme = web?.tls ? 'https' : 'http';
  let guard: ReturnType<typeof guardConnections> | undefined;
  const answer = answerWith(app, scheme, log);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    guard?.request(req, res);
    answer(req, res);
  };
  let tls = web?.tls;
  // A TLS handshake gets as long as a first request (Node's default is 120 s).
  const server = tls ? https.createServer({ ...tls.options, handshakeTimeout: connectionLimits.firstRequestTimeoutMs }, handler) : http.createServer(handler);
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const problem = tls && tls.clientAuth !== 'NoClientCert' ? clientCertProblem(socket, tls) : undefined;
      if (problem) {
        log.debug({ remote: socket.remoteAddress, problem }, 'TLS client refused');
        socket.destroy();
      }
    });
  }
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  guard = guardConnections(server, Boolean(tls), connectionLimits);
  // CONNECT never reaches the request handler; without this node drops the socket unanswered.
  server.on('connect', (_req: http.IncomingMessage, socket: import('node:stream').Duplex) => {
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nAllow: ${ALLOWED_METHODS}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  const { address, url } = await listenOn(server, listen, scheme);
  return {
    address: () => address,
    url,
    reloadTls(next) {
      if (!(server instanceof https.Server)) throw new Error('the server was started without TLS: turning it on needs a restart');
      server.setSecureContext(next.options);
      // Per-connection settings that are not part of the secure context.
      Object.assign(server, { requestCert: next.options.requestCert, rejectUnauthorized: next.options.rejectUnauthorized });
      tls = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A scrape in progress gets a moment to finish; then every socket goes.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
