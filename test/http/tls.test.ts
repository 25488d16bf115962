// TLS from the exporter-toolkit web config, against real handshakes on loopback: what the file
// says about client certificates, allowed SANs and cipher suites is enforced, and what cannot be
// honoured is refused at load time. Fixtures in test/fixtures/tls: a CA; a server certificate; two
// client certificates the CA signed (SANs prometheus.monitoring.svc and intruder.example); and a
// self-signed "rogue" certificate with the same SAN as the good client.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/http/app.js';
import { type RunningServer, serve } from '../../src/http/server.js';
import { loadWebConfig } from '../../src/http/web-config.js';
import { silentLogger } from '../../src/log.js';

const fixtures = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const FILES = ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key', 'other.crt', 'other.key', 'rogue.crt', 'rogue.key'];

function webConfig(yaml: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  for (const f of FILES) copyFileSync(join(fixtures, f), join(dir, f));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${yaml}`);
  return join(dir, 'web.yml');
}

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(yaml: string): Promise<number> {
  const app = createHttpApp({
    telemetryPath: '/metrics',
    version: 't',
    scrapeMetrics: async () => ({ prerendered: [Buffer.from('x 1\n')], length: 4, live: async () => Buffer.from('y 1\n') }),
    metricsContentType: 'text/plain',
    waitingFor: () => [],
    landing: () => ({ docsUrl: 'https://docs.example/', now: 0, sources: [], allSourcesFailing: false }),
  });
  server = await serve(app, { host: '127.0.0.1', port: 0 }, loadWebConfig(webConfig(yaml)), silentLogger());
  return server.address().port;
}

/** GET /metrics over TLS as a client with the given certificate (or none); the status, or 'refused'. */
function get(port: number, cert?: 'client' | 'other' | 'rogue', tls: https.RequestOptions = {}): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        ca: [readFixture('ca.crt')],
        servername: 'localhost',
        ...(cert ? { cert: readFixture(`${cert}.crt`), key: readFixture(`${cert}.key`) } : {}),
        agent: false,
        ...tls,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve('refused'));
    req.setTimeout(3000, () => req.destroy());
  });
}
const readFixture = (name: string) => readFileSync(join(fixtures, name));

describe('TLS client certificates', () => {
  it('VerifyClientCertIfGiven: no certificate is fine, one the CA signed is fine, any other is refused', async () => {
    const port = await start('  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n');
    expect(await get(port)).toBe(200);
    expect(await get(port, 'client')).toBe(200);
    expect(await get(port, 'rogue')).toBe('refused');
  });

  it('RequireAnyClientCert: a certificate is required, but not verified', async () => {
    const port = await start('  client_auth_type: RequireAnyClientCert\n');
    expect(await get(port)).toBe('refused');
    expect(await get(port, 'rogue')).toBe(200);
  });

  it('RequireAndVerifyClientCert with client_allowed_sans: only a verified certificate with an allowed SAN', async () => {
    const port = await start('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.monitoring.svc]\n');
    expect(await get(port, 'client')).toBe(200);
    expect(await get(port, 'other')).toBe('refused');
    expect(await get(port, 'rogue')).toBe('refused');
    expect(await get(port)).toBe('refused');
  });
});

describe('TLS cipher suites and curves', () => {
  it('offers only the configured TLS 1.2 suites', async () => {
    const port = await start('  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [CurveP256]\n');
    expect(await get(port, undefined, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' })).toBe(200);
    expect(await get(port, undefined, { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', maxVersion: 'TLSv1.2' })).toBe('refused');
    expect(await get(port, undefined, { ecdhCurve: 'P-384', maxVersion: 'TLSv1.2' })).toBe('refused');
  });

  it('refuses at load time what it cannot honour, naming it', () => {
    expect(() => loadWebConfig(webConfig('  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n'))).toThrow(/cipher_suites: TLS_RSA_WITH_RC4_128_SHA is not supported/);
    expect(() => loadWebConfig(webConfig('  cipher_suites: [NOT_A_SUITE]\n'))).toThrow(/cipher_suites: NOT_A_SUITE is not supported/);
    expect(() => loadWebConfig(webConfig('  curve_preferences: [CurveP1]\n'))).toThrow(/curve_preferences: CurveP1 is not supported/);
    expect(() => loadWebConfig(webConfig('  client_allowed_sans: [a.example]\n'))).toThrow(
      /client_allowed_sans: needs client_auth_type RequireAndVerifyClientCert or VerifyClientCertIfGiven/,
    );
    const http2 = webConfig('').replace(/web\.yml$/, 'http2.yml');
    writeFileSync(http2, 'http_server_config:\n  http2: true\n');
    expect(() => loadWebConfig(http2)).toThrow(/http_server_config.http2: HTTP\/2 is not supported/);
  });

  it('refuses certificate or key files that are not PEM, naming the file', () => {
    const path = webConfig('', { 'server.crt': 'not a certificate\n' });
    expect(() => loadWebConfig(path)).toThrow(/tls_server_config: cert_file server.crt and key_file server.key are not a usable PEM certificate and key/);
    const badCa = webConfig('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: junk.crt\n', { 'junk.crt': 'junk' });
    expect(() => loadWebConfig(badCa)).toThrow(/client_ca_file junk.crt is not a PEM certificate/);
  });
});
