// The Prometheus exporter-toolkit web configuration file: TLS and bcrypt basic auth.
// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
// Relative file paths are resolved against the web config file's folder, as the toolkit does.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { parseDocument } from 'yaml';
import { z } from 'zod';

const tlsVersion = z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']);

const schema = z
  .object({
    tls_server_config: z
      .object({
        cert_file: z.string().min(1),
        key_file: z.string().min(1),
        client_auth_type: z
          .enum(['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'])
          .default('NoClientCert'),
        client_ca_file: z.string().optional(),
        min_version: tlsVersion.default('TLS12'),
        max_version: tlsVersion.default('TLS13'),
        // Accepted for compatibility with files written for Go exporters; Node picks its own suites.
        cipher_suites: z.array(z.string()).optional(),
        curve_preferences: z.array(z.string()).optional(),
        prefer_server_cipher_suites: z.boolean().optional(),
        client_allowed_sans: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    http_server_config: z
      .object({
        http2: z.boolean().optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    basic_auth_users: z
      .record(z.string(), z.string().regex(/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/, 'must be a bcrypt hash ($2y$...)'))
      .optional(),
  })
  .strict();

export interface WebConfig {
  tls?: {
    cert: Buffer;
    key: Buffer;
    ca?: Buffer;
    requestCert: boolean;
    rejectUnauthorized: boolean;
    minVersion: SecureVersion;
    maxVersion: SecureVersion;
  };
  basicAuthUsers?: Map<string, string>;
  headers: Record<string, string>;
}

const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** Reads and validates a web config file; throws an Error listing every problem. */
export function loadWebConfig(path: string, readFile: (p: string) => Buffer = (p) => readFileSync(p)): WebConfig {
  const where = `web config file ${path}`;
  let text: string;
  try {
    text = readFile(path).toString('utf8');
  } catch (err) {
    throw new Error(`${where}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${where}: ${i.path.join('.') || 'document'}: ${i.message}`).join('\n'));
  }
  const cfg = parsed.data;
  const base = dirname(path);
  const problems: string[] = [];
  const read = (key: string, file: string): Buffer | undefined => {
    try {
      return readFile(resolve(base, file));
    } catch (err) {
      problems.push(`${where}: ${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };

  let tls: WebConfig['tls'];
  if (cfg.tls_server_config) {
    const t = cfg.tls_server_config;
    const cert = read('tls_server_config.cert_file', t.cert_file);
    const key = read('tls_server_config.key_file', t.key_file);
    const ca = t.client_ca_file ? read('tls_server_config.client_ca_file', t.client_ca_file) : undefined;
    const verify = t.client_auth_type === 'RequireAndVerifyClientCert' || t.client_auth_type === 'VerifyClientCertIfGiven';
    if (verify && !t.client_ca_file) problems.push(`${where}: tls_server_config.client_ca_file: required for client_auth_type ${t.client_auth_type}`);
    if (cert && key) {
      tls = {
        cert,
        key,
        ...(ca ? { ca } : {}),
        requestCert: t.client_auth_type !== 'NoClientCert',
        rejectUnauthorized: t.client_auth_type === 'RequireAndVerifyClientCert' || t.client_auth_type === 'RequireAnyClientCert',
        minVersion: TLS_VERSIONS[t.min_version] as SecureVersion,
        maxVersion: TLS_VERSIONS[t.max_version] as SecureVersion,
      };
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return {
    ...(tls ? { tls } : {}),
    ...(cfg.basic_auth_users ? { basicAuthUsers: new Map(Object.entries(cfg.basic_auth_users)) } : {}),
    headers: cfg.http_server_config?.headers ?? {},
  };
}
