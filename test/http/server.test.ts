// The HTTP server as a hostile client meets it: raw requests over a socket, so a malformed Host or
// an unusual method reaches the server exactly as sent. Any request gets a 4xx at worst, never a
// crash, and the server keeps serving afterwards. /metrics goes out in two parts: what was rendered
// ahead, then what is rendered at the scrape.
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

const scrapeBody = async () => ({ prerendered: [Buffer.from('x 1\n')], live: async () => Buffer.from('y 1\n') });

async function start(scrapeMetrics: HttpAppOptions['scrapeMetrics'] = scrapeBody): Promise<RunningServer> {
  const app = createHttpApp({
    telemetryPath: '/metrics',
    version: 'test',
    scrapeMetrics,
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    waitingFor: () => [],
    landing: () => ({ docsUrl: 'https://docs.example/', now: 0, sources: [] }),
  });
  server = await serve(app, { host: '127.0.0.1', port: 0 }, undefined, silentLogger());
  return server;
}

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
  it('sends the prerendered part before it renders the live part, then both as one body', async () => {
    let received = '';
    let liveCalledAfter: string | undefined;
    const { port } = (
      await start(async () => ({
        prerendered: [Buffer.from('a 1\n'), Buffer.from('b 2\n')],
        live: async () => {
          // Waits until the client holds the prerendered bytes.
          for (let i = 0; i < 100 && !received.includes('b 2'); i++) await new Promise((r) => setTimeout(r, 10));
          liveCalledAfter = received;
          return Buffer.from('c 3\n');
        },
      }))
    ).address();
    const body = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/metrics`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
          received = text;
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
    });
    expect(liveCalledAfter).toBe('a 1\nb 2\n');
    expect(body).toBe('a 1\nb 2\nc 3\n');
  });

  it('answers HEAD without rendering the live part', async () => {
    let rendered = 0;
    const { port } = (
      await start(async () => ({
        prerendered: [Buffer.from('a 1\n')],
        live: async () => {
          rendered++;
          return Buffer.from('c 3\n');
        },
      }))
    ).address();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(rendered).toBe(0);
  });

  it('cuts the response short when the live part fails, so the scrape fails, and keeps serving', async () => {
    let fail = true;
    const { port } = (
      await start(async () => ({
        prerendered: [Buffer.from('a 1\n')],
        live: async () => {
          if (fail) throw new Error('collect failed');
          return Buffer.from('c 3\n');
        },
      }))
    ).address();
    // These bodies are not gzip: the client must not ask for it.
    const plain = { headers: { 'accept-encoding': 'identity' } };
    await expect(fetch(`http://127.0.0.1:${port}/metrics`, plain).then((r) => r.text())).rejects.toThrow(/terminated/);
    fail = false;
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`, plain)).text()).toBe('a 1\nc 3\n');
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
    const { port } = (await start(async () => ({ prerendered: body(), live: async () => Buffer.from('\nc 3\n') }))).address();

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
