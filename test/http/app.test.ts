import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { createHttpApp, type HttpAppOptions } from '../../src/http/app.js';
import { createBasicAuth } from '../../src/http/basic-auth.js';
import { firstMember } from '../helpers/gzip.js';

function app(overrides: Partial<HttpAppOptions> = {}) {
  return createHttpApp({
    telemetryPath: '/metrics',
    version: '1.2.3',
    scrapeMetrics: async (gzipped) => {
      const text = Buffer.from('# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n');
      const live = Buffer.from('y 2\n');
      // As production sends it: one gzip member, of which the live part is the end.
      const whole = gzipSync(Buffer.concat([text, live]));
      const prerendered = gzipped ? whole.subarray(0, whole.length - 12) : text;
      return { prerendered: [prerendered], length: prerendered.length, live: async () => (gzipped ? whole.subarray(whole.length - 12) : live) };
    },
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    waitingFor: () => [],
    landing: () => ({
      docsUrl: 'https://docs.example/',
      now: 90_000,
      sources: [{ collector: 'tunnels', scope: 'acc<1>', ok: false, lastPollAt: 0, lastSuccessAt: 0, error: 'HTTP 500' }],
      allSourcesFailing: true,
    }),
    ...overrides,
  });
}

const get = (path: string, headers: Record<string, string> = {}) => new Request(`http://exporter${path}`, { headers });

describe('HTTP app', () => {
  it('serves metrics, gzipped when asked', async () => {
    const plain = await app()(get('/metrics'));
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await plain.text()).toBe('# HELP x_total X.\n# TYPE x_total counter\nx_total 1\ny 2\n');
    const zipped = await app()(get('/metrics', { 'accept-encoding': 'gzip, deflate' }));
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    // Read as a one-member reader (a browser, curl --compressed) reads it: all of it, 8 bytes after.
    const member = firstMember(Buffer.from(await zipped.arrayBuffer()));
    expect(member.text.toString()).toBe('# HELP x_total X.\n# TYPE x_total counter\nx_total 1\ny 2\n');
    expect(member.after).toBe(8);
  });

  it('serves metrics on a custom telemetry path only', async () => {
    const custom = app({ telemetryPath: '/prom' });
    expect((await custom(get('/prom'))).status).toBe(200);
    expect((await custom(get('/metrics'))).status).toBe(404);
  });

  it('is healthy while running and ready once every source was polled', async () => {
    let waiting = ['tunnels/acc', 'proxy_records/org'];
    const a = app({ waitingFor: () => waiting });
    expect((await a(get('/-/healthy'))).status).toBe(200);
    const notReady = await a(get('/-/ready'));
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('Not ready: waiting for the first poll of tunnels/acc, proxy_records/org\n');
    waiting = [];
    expect((await a(get('/-/ready'))).status).toBe(200);
  });

  it('shows a status page: sources with their age and error (escaped), budget, remediation and its decisions, links', async () => {
    const res = await app({
      landing: () => ({
        docsUrl: 'https://docs.example/',
        now: 90_000,
        sources: [{ collector: 'tunnels', scope: 'acc<1>', ok: false, lastPollAt: 0, lastSuccessAt: 0, error: 'HTTP 500' }],
        allSourcesFailing: true,
        budget: { budget: 300, usedLast5m: 75, neededPer5m: 900, listsPer5m: 110, queued: 12 },
        remediation: {
          staleConnectors: 'dry-run',
          proxyRecords: 'off',
          decisions: [
            { at: 30_000, action: 'cleanup_connector', mode: 'dry-run', target: { tunnel_name: 'api' }, outcome: 'would_act', reason: 'stale for 15m' },
          ],
        },
      }),
    })(get('/'));
    const html = await res.text();
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('Version 1.2.3');
    expect(html).toContain('<a href="/metrics">Metrics</a>');
    expect(html).toContain('<a href="https://docs.example/">Documentation</a>');
    expect(html).toContain('<td class="id">acc&#60;1&#62;</td><td>failed</td>');
    expect(html).toContain('<td>1m 30s</td><td>HTTP 500</td>');
    expect(html).toContain('Ready, but every source is failing');
    expect(html).toContain('<b>75</b> of <b>300</b> requests in the last 5 minutes (25%)');
    expect(html).toContain('more than the budget');
    expect(html).not.toContain('The list polls alone');
    expect(html).toContain('Stale connectors: <b>dry-run</b>. Proxy records: <b>off</b>.');
    expect(html).toContain(
      '<td>1m ago</td><td>cleanup_connector</td><td>dry-run</td><td class="id" title="tunnel_name=api">api</td><td>would_act</td><td>stale for 15m</td>',
    );
  });

  it('puts a corrupt state file and domains deleted but not back at the top of the remediation section', async () => {
    const res = await app({
      landing: () => ({
        docsUrl: 'https://docs.example/',
        now: 600_000,
        sources: [],
        allSourcesFailing: false,
        remediation: {
          staleConnectors: 'off',
          proxyRecords: 'on',
          decisions: [],
          stateFileCorrupt: { path: '/var/lib/x/state.json', movedTo: '/var/lib/x/state.json.corrupt-1', salvagedJournalEntries: 1 },
          recreatesPending: [{ organizationId: 'org', domain: 'ph.<acme>.io', at: 0 }],
        },
      }),
    })(get('/'));
    const html = await res.text();
    expect(html).toContain(
      '<p class="bad">The remediation state file /var/lib/x/state.json was corrupt at start-up: moved to /var/lib/x/state.json.corrupt-1, 1 journal entry salvaged. A recreate journaled in the lost part is not finished: check that file.</p>',
    );
    expect(html).toContain('<p class="bad">Deleted to be recreated and not back yet: <b>ph.&#60;acme&#62;.io</b> (10m).</p>');
  });

  it('says when the list polls alone need more than the budget', async () => {
    const res = await app({
      landing: () => ({
        version: '1.2.3',
        docsUrl: 'https://docs.example/',
        ready: true,
        now: 90_000,
        sources: [],
        allSourcesFailing: false,
        budget: { budget: 300, usedLast5m: 300, neededPer5m: 30_000, listsPer5m: 311, queued: 30_000 },
      }),
    })(get('/'));
    expect(await res.text()).toContain('The list polls alone need <b>311</b>');
  });

  it('rejects other methods and unknown paths', async () => {
    expect((await app()(new Request('http://exporter/metrics', { method: 'POST' }))).status).toBe(405);
    expect((await app()(get('/nope'))).status).toBe(404);
  });

  it('answers HEAD as GET without a body, on every path', async () => {
    for (const path of ['/', '/metrics', '/-/healthy', '/nope']) {
      const [head, full] = [await app()(new Request(`http://exporter${path}`, { method: 'HEAD' })), await app()(get(path))];
      expect([head.status, head.headers.get('content-type')], path).toEqual([full.status, full.headers.get('content-type')]);
      expect(await head.text(), path).toBe('');
    }
  });

  it('asks for bcrypt basic auth when configured', async () => {
    const hash = bcrypt.hashSync('s3cret', 4);
    const a = app({ basicAuth: createBasicAuth(new Map([['prom', hash]])), headers: { 'x-frame-options': 'DENY' } });
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    const denied = await a(get('/metrics'));
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Basic');
    expect((await a(get('/metrics', basic('prom', 'wrong')))).status).toBe(401);
    expect((await a(get('/metrics', basic('nobody', 's3cret')))).status).toBe(401);
    const ok = await a(get('/metrics', basic('prom', 's3cret')));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-frame-options')).toBe('DENY');
  });

  it('answers liveness and readiness probes without credentials, and readiness names nothing to them', async () => {
    const check = Object.assign(async (h: string | null) => (h === 'Basic ok' ? ('ok' as const) : ('denied' as const)), {});
    const a = app({ basicAuth: check, waitingFor: () => ['tunnels/acc-secret-id'] });
    expect((await a(get('/-/healthy'))).status).toBe(200);
    const ready = await a(get('/-/ready'));
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe('Not ready\n');
    expect(await (await a(get('/-/ready', { authorization: 'Basic ok' }))).text()).toContain('tunnels/acc-secret-id');
    expect((await a(get('/'))).status).toBe(401);
  });

  it('answers 429 while the credential check is saturated', async () => {
    const a = app({ basicAuth: async () => 'busy' as const });
    const res = await a(get('/metrics', { authorization: 'Basic eDp5' }));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
  });
});

describe('content negotiation', () => {
  it('honours Accept-Encoding q-values: gzip;q=0 is a refusal, and the highest wins', async () => {
    const encodingOf = async (accept: string) => (await app()(get('/metrics', { 'accept-encoding': accept }))).headers.get('content-encoding');
    expect(await encodingOf('gzip;q=0, identity')).toBeNull();
    expect(await encodingOf('gzip; q=0.0')).toBeNull();
    expect(await encodingOf('identity;q=1, gzip;q=0.5')).toBe('gzip');
    expect(await encodingOf('GZIP')).toBe('gzip');
    expect(await encodingOf('deflate, br')).toBeNull();
    expect(await encodingOf('*')).toBe('gzip');
    expect(await encodingOf('*;q=0')).toBeNull();
    expect(await encodingOf('gzip;q=0, *')).toBeNull();
    // RFC 9110: x-gzip is gzip.
    expect(await encodingOf('x-gzip')).toBe('gzip');
  });
});
