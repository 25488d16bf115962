// The HTTP server as a hostile client meets it: raw requests over a socket, so a malformed Host or
// an unusual method reaches the server exactly as sent. Any request gets a 4xx at worst, never a
// crash, and the server keeps serving afterwards. /metrics is what was rendered ahead followed by
// what is rendered at the scrape, sent as one body with its length.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpAppOptions } from '../../src/http/app.js';
import { type RunningServer, serve } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const scrapeBody = async () => ({ prerendered: [Buffer.from('x 1\n')], length: 4, live: async () => Buffer.from('y 1\n') });

async function start(scrapeMetrics: HttpAppOptions['scrapeMetrics'] = scrapeBody, limits?: Parameters<typeof serve>[4]): Promise<RunningServer> {
  const app = createHttpApp({
    telemetryPath: '/metrics',
    version: 'test',
    scrapeMetrics,
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    waitingFor: () => [],
    landing: () => ({ docsUrl: 'https://docs.example/', now: 0, sources: [], allSourcesFailing: false }),
  });
  server = await serve(app, { host: '127.0.0.1', port: 0 }, undefined, silentLogger(), limits);
  return server;
}

/** A server whose /metrics prerenders 'a 1' and renders the rest with `live`. */
const startWithLive = (live: () => Promise<Buffer>) => start(async () => ({ prerendered: [Buffer.from('a 1\n')], length: 4, live }));

/** Sends raw bytes and returns the status line of the answer ('' when the socket closed without one). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (data.includes('\r\n')) {
        socket.destroy();
        resolve(data.split('\r\n')[0] as string);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
  });
}

describe('HTTP server against hostile requests', () => {
  it.each([
    ['TRACE', 'TRACE /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', /^HTTP\/1\.1 405 /],
    ['CONNECT', 'CONNECT /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', /^HTTP\/1\.1 4\d\d /],
    ['a Host with a space', 'GET /metrics HTTP/1.1\r\nHost: a b\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['a Host with a port out of range', 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:99999\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['an unclosed IPv6 Host', 'GET /metrics HTTP/1.1\r\nHost: [::1\r\n\r\n', /^HTTP\/1\.1 400 /],
  ])('answers %s with a 4xx and keeps serving', async (_name, request, status) => {
    const { port } = (await start()).address();
    expect(await raw(port, request)).toMatch(status);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
  });
});

describe('HTTP server: /metrics', () => {
  it('sends the prerendered and live parts as one body with its Content-Length, in one write when prerendered', async () => {
    const { port } = (
      await start(async () => ({
        prerendered: [Buffer.from('a 1\n'), Buffer.from('b 2\n')],
        length: 8,
        live: async () => Buffer.from('c 3\n'),
      }))
    ).address();
    // Raw, to see how the bytes arrive: headers and the whole body in the first read, not chunked.
    const first = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
      socket.once('data', (d: Buffer) => {
        socket.destroy();
        resolve(d.toString('latin1'));
      });
      socket.on('error', reject);
    });
    const [head, body] = first.split('\r\n\r\n');
    expect(head).toMatch(/\r\ncontent-length: 12(\r\n|$)/i);
    expect(head).not.toMatch(/transfer-encoding/i);
    expect(body).toBe('a 1\nb 2\nc 3\n');
  });

  it("sends exactly the bytes of the app's Response, for every path", async () => {
    const { port } = (await start()).address();
    const app = createHttpApp({
      telemetryPath: '/metrics',
      version: 'test',
      scrapeMetrics: scrapeBody,
      metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
      waitingFor: () => [],
      landing: () => ({ docsUrl: 'https://docs.example/', now: 0, sources: [], allSourcesFailing: false }),
    });
    const rawBytes = (path: string) =>
      new Promise<{ status: number; allow: string | undefined; length: string | undefined; body: Buffer }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path, method: path === '/trace' ? 'TRACE' : 'GET' }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, length: res.headers['content-length'], body: Buffer.concat(parts) }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of ['/metrics', '/', '/-/healthy', '/-/ready', '/nowhere']) {
      const own = await app(new Request(`http://127.0.0.1${path}`));
      const sent = await rawBytes(path);
      expect(sent.status, path).toBe(own.status);
      expect(sent.body.equals(Buffer.from(await own.arrayBuffer())), path).toBe(true);
      // Every body goes out with its length, none chunked.
      expect(sent.length, path).toBe(String(sent.body.length));
    }
    // A method no Request can carry gets the app's own 405.
    const trace = await rawBytes('/trace');
    const own = await app(new Request('http://127.0.0.1/metrics', { method: 'POST' }));
    expect([trace.status, trace.allow, trace.body.toString()]).toEqual([405, own.headers.get('allow'), await own.text()]);
  });

  it('answers HEAD without rendering the live part', async () => {
    let rendered = 0;
    const { port } = (
      await startWithLive(async () => {
        rendered++;
        return Buffer.from('c 3\n');
      })
    ).address();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(rendered).toBe(0);
  });

  it('answers 500 when the live part fails, before any byte of the body, and keeps serving', async () => {
    let fail = true;
    const { port } = (
      await startWithLive(async () => {
        if (fail) throw new Error('collect failed');
        return Buffer.from('c 3\n');
      })
    ).address();
    // These bodies are not gzip: the client must not ask for it.
    const plain = { headers: { 'accept-encoding': 'identity' } };
    const failed = await fetch(`http://127.0.0.1:${port}/metrics`, plain);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('Internal Server Error\n');
    fail = false;
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`, plain)).text()).toBe('a 1\nc 3\n');
  });

  it('keeps serving when the client leaves while the live part is rendered', async () => {
    let left: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => {
      left = resolve;
    });
    let rendered = 0;
    const { port } = (
      await startWithLive(async () => {
        if (rendered++ === 0) {
          await gone;
          await new Promise((r) => setTimeout(r, 50));
        }
        return Buffer.from('c 3\n');
      })
    ).address();
    await new Promise<void>((resolve) => {
      const req = http.get(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } });
      req.on('error', () => resolve());
      setTimeout(() => {
        req.destroy();
        left();
        resolve();
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } })).text()).toBe('a 1\nc 3\n');
  });

  it("makes a body that is produced as it goes (plain text inflated) at the client's pace, and stops when the client leaves", async () => {
    const MB = Buffer.alloc(1 << 20, 'x');
    let produced = 0;
    let finished = false;
    async function* body() {
      try {
        for (let i = 0; i < 32; i++) {
          produced++;
          yield MB;
        }
      } finally {
        finished = true;
      }
    }
    const { port } = (await start(async () => ({ prerendered: body(), length: 32 * MB.length, live: async () => Buffer.from('\nc 3\n') }))).address();

    // A client that does not read for a while: the server stops producing once the socket is full.
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } }, resolve),
    );
    res.pause();
    await new Promise((r) => setTimeout(r, 300));
    const whilePaused = produced;
    expect(whilePaused).toBeLessThan(16);
    let length = 0;
    res.on('data', (d: Buffer) => {
      length += d.length;
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(length).toBe(32 * MB.length + 5);

    // A client that leaves after the first bytes: the rest is never made, and the server goes on.
    produced = 0;
    finished = false;
    await new Promise<void>((resolve) => {
      const req = http.get(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } }, (r) => {
        r.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
    });
    for (let i = 0; i < 100 && !finished; i++) await new Promise((r) => setTimeout(r, 10));
    expect(finished).toBe(true);
    expect(produced).toBeLessThan(16);
    expect((await fetch(`http://127.0.0.1:${port}/-/healthy`)).status).toBe(200);
  });
});

describe('HTTP server against idle connections', () => {
  /** Opens `n` sockets that send nothing. */
  const idle = async (port: number, n: number) => {
    const sockets: net.Socket[] = [];
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect(port, '127.0.0.1', () => resolve());
            s.on('error', () => resolve());
            sockets.push(s);
          }),
      ),
    );
    return sockets;
  };

  it('past the connection cap, the oldest idle socket goes, so a scrape still gets in', async () => {
    const { port } = (await start(scrapeBody, { maxConnections: 20, firstRequestTimeoutMs: 60_000 })).address();
    const sockets = await idle(port, 40);
    try {
      expect(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).toBe('HTTP/1.1 200 OK');
      await new Promise((r) => setTimeout(r, 50));
      expect(sockets.filter((s) => !s.destroyed && s.readyState === 'open').length).toBeLessThanOrEqual(20);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('past the cap, a keep-alive connection idle between requests goes too, so one request each cannot pin the slots', async () => {
    const { port } = (await start(scrapeBody, { maxConnections: 10, firstRequestTimeoutMs: 60_000 })).address();
    // 20 connections, one after another, that each served one request and stay open, idle.
    const sockets = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ port, host: '127.0.0.1', path: '/-/healthy', agent: new http.Agent({ keepAlive: true }) }, (res) =>
          res.resume().on('end', resolve),
        );
        req.on('socket', (s) => sockets.add(s));
        req.on('error', reject);
      });
    }
    expect(sockets.size).toBe(20);
    expect(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).toBe('HTTP/1.1 200 OK');
  });

  it('drops a socket that sends no request within the first-request timeout', async () => {
    const { port } = (await start(scrapeBody, { firstRequestTimeoutMs: 200 })).address();
    const [socket] = await idle(port, 1);
    const closed = await new Promise((r) => {
      socket?.on('close', () => r('closed'));
      setTimeout(() => r('open'), 2000);
    });
    expect(closed).toBe('closed');
  });

  it('serves an absolute-form request line (GET http://host/metrics)', async () => {
    const { port } = (await start()).address();
    expect(await raw(port, `GET http://127.0.0.1:${port}/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).toBe('HTTP/1.1 200 OK');
    expect(await raw(port, `GET http://127.0.0.1:${port}/-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).toBe('HTTP/1.1 200 OK');
  });
});
