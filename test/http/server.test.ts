// The HTTP server as a hostile client meets it: raw requests over a socket, so a malformed Host or
// an unusual method reaches the server exactly as sent. Any request gets a 4xx at worst, never a
// crash, and the server keeps serving afterwards.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/http/app.js';
import { type RunningServer, serve } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<RunningServer> {
  const app = createHttpApp({
    telemetryPath: '/metrics',
    version: 'test',
    scrapeMetrics: async () => [Buffer.from('x 1\n')],
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
