import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../src/http/web-config.js';

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'webcfg-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
const HASH = '$2y$10$X0h1gDsPszWURQaxFN.ZdOSCq3wRsM3jDoQOWSxpWJUFsHxQGfMuW';

describe('web config file', () => {
  it('reads TLS files relative to the config file and the basic auth users', () => {
    const dir = write({
      'web.yml': `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\nbasic_auth_users:\n  prometheus: "${HASH}"\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n`,
      'tls.crt': fixture('server.crt'),
      'tls.key': fixture('server.key'),
      'ca.crt': fixture('ca.crt'),
    });
    const cfg = loadWebConfig(join(dir, 'web.yml'));
    expect(cfg.tls?.options).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(cfg.tls?.clientAuth).toBe('RequireAndVerifyClientCert');
    expect(String(cfg.tls?.options.cert)).toBe(fixture('server.crt'));
    expect(String(cfg.tls?.options.ca)).toBe(fixture('ca.crt'));
    expect(cfg.basicAuthUsers?.get('prometheus')).toBe(HASH);
    expect(cfg.headers).toEqual({ 'X-Content-Type-Options': 'nosniff' });
  });

  it('names every problem: unknown keys, bad hashes, missing files', () => {
    const dir = write({ 'web.yml': 'tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n' });
    expect(() => loadWebConfig(join(dir, 'web.yml'))).toThrow(
      /tls_server_config.cert_file: cannot read missing.crt \(ENOENT\)\n.*key_file: cannot read missing.key/,
    );
    const bad = write({ 'web.yml': 'basic_auth_users:\n  bob: plaintext\ntls_config: {}\n' });
    expect(() => loadWebConfig(join(bad, 'web.yml'))).toThrow(/basic_auth_users.bob: must be a bcrypt hash[\s\S]*Unrecognized key: "tls_config"/);
  });
});
