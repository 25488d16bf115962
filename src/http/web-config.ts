// The Prometheus exporter-toolkit web configuration file: TLS and bcrypt basic auth.
// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
// Relative file paths are resolved against the web config file's folder, as the toolkit does.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureVersion, type TlsOptions } from 'node:tls';
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
    basic_auth_users: z.record(z.string(), z.string().regex(/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/, 'must be a bcrypt hash ($2y$...)')).optional(),
  })
  .strict();

export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

export interface WebConfig {
  tls?: {
    /** What node:tls enforces by itself (handshake, verification where it rejects). */
    options: TlsOptions;
    /** What the server checks once a connection is up (see http/server.ts). */
    clientAuth: ClientAuthType;
    allowedSans?: string[];
  };
  basicAuthUsers?: Map<string, string>;
  headers: Record<string, string>;
}

const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/**
 * Go's cipher suite names (what exporter-toolkit files use) as OpenSSL's. Like Go, they apply to
 * TLS 1.2 and below; TLS 1.3 suites are not configurable. RC4 and 3DES suites are left out on
 * purpose: a file asking for them is refused rather than honoured.
 */
const CIPHER_SUITES: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** The TLS 1.3 suites OpenSSL enables by default, kept when cipher_suites restricts TLS 1.2. */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

/** Go's curve names as OpenSSL's. */
const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** Reads and validates a web config file; throws an Error listing every problem. */
type TlsServerConfig = NonNullable<z.infer<typeof schema>['tls_server_config']>;

/** The TLS options from tls_server_config: files read, names mapped to OpenSSL's, problems listed. */
function tlsOf(t: TlsServerConfig, where: string, read: (key: string, file: string) => Buffer | undefined, problems: string[]): NonNullable<WebConfig['tls']> {
  const key_ = (k: string) => `${where}: tls_server_config.${k}`;
  const cert = read('tls_server_config.cert_file', t.cert_file);
  const key = read('tls_server_config.key_file', t.key_file);
  const ca = t.client_ca_file ? read('tls_server_config.client_ca_file', t.client_ca_file) : undefined;
  const verify = t.client_auth_type === 'RequireAndVerifyClientCert' || t.client_auth_type === 'VerifyClientCertIfGiven';
  if (verify && !t.client_ca_file) problems.push(`${key_('client_ca_file')}: required for client_auth_type ${t.client_auth_type}`);
  if (t.client_allowed_sans && !verify)
    problems.push(
      `${key_('client_allowed_sans')}: needs client_auth_type RequireAndVerifyClientCert or VerifyClientCertIfGiven (SANs of an unverified certificate prove nothing)`,
    );
  const ciphers = (t.cipher_suites ?? []).map((name) => {
    const openssl = CIPHER_SUITES[name];
    if (!openssl) problems.push(`${key_('cipher_suites')}: ${name} is not supported (supported: ${Object.keys(CIPHER_SUITES).join(', ')})`);
    return openssl;
  });
  const curves = (t.curve_preferences ?? []).map((name) => {
    const openssl = CURVES[name];
    if (!openssl) problems.push(`${key_('curve_preferences')}: ${name} is not supported (supported: ${Object.keys(CURVES).join(', ')})`);
    return openssl;
  });
  const options: TlsOptions = {
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(ca ? { ca } : {}),
    requestCert: t.client_auth_type !== 'NoClientCert',
    // Only RequireAndVerifyClientCert lets node:tls refuse the handshake itself; the other
    // types need a look at the certificate after it (http/server.ts).
    rejectUnauthorized: t.client_auth_type === 'RequireAndVerifyClientCert',
    minVersion: TLS_VERSIONS[t.min_version] as SecureVersion,
    maxVersion: TLS_VERSIONS[t.max_version] as SecureVersion,
    ...(ciphers.length > 0 ? { ciphers: `${TLS13_SUITES}:${ciphers.join(':')}` } : {}),
    ...(curves.length > 0 ? { ecdhCurve: curves.join(':') } : {}),
    ...(t.prefer_server_cipher_suites !== undefined ? { honorCipherOrder: t.prefer_server_cipher_suites } : {}),
  };
  if (cert && key && problems.length === 0) checkTls({ t, where, cert, key, ca, options }, problems);
  return { options, clientAuth: t.client_auth_type, ...(t.client_allowed_sans ? { allowedSans: t.client_allowed_sans } : {}) };
}

/** Checked here, so --config.check and start-up say what is wrong (exit 2), not the listener. */
function checkTls(x: { t: TlsServerConfig; where: string; cert: Buffer; key: Buffer; ca: Buffer | undefined; options: TlsOptions }, problems: string[]): void {
  const { t, where, cert, key, ca, options } = x;
  const key_ = (k: string) => `${where}: tls_server_config.${k}`;
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    problems.push(
      `${where}: tls_server_config: cert_file ${t.cert_file} and key_file ${t.key_file} are not a usable PEM certificate and key (${(err as Error).message})`,
    );
  }
  if (ca) {
    try {
      createSecureContext({ ca });
      if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate block');
    } catch (err) {
      problems.push(`${key_('client_ca_file')}: client_ca_file ${t.client_ca_file} is not a PEM certificate (${(err as Error).message})`);
    }
  }
  try {
    createSecureContext(options);
  } catch (err) {
    problems.push(`${where}: tls_server_config: the settings are not usable together (${(err as Error).message})`);
  }
}

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

  const tls = cfg.tls_server_config ? tlsOf(cfg.tls_server_config, where, read, problems) : undefined;
  if (cfg.http_server_config?.http2 === true) {
    problems.push(`${where}: http_server_config.http2: HTTP/2 is not supported (the exporter serves HTTP/1.1); remove the key or set it to false`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return {
    ...(tls ? { tls } : {}),
    ...(cfg.basic_auth_users ? { basicAuthUsers: new Map(Object.entries(cfg.basic_auth_users)) } : {}),
    headers: cfg.http_server_config?.headers ?? {},
  };
}
