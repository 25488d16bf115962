// The container HEALTHCHECK: `node dist/healthcheck.js`, no shell or curl needed in the image.
// Asks /-/healthy (which needs no credentials) on the port the daemon listens on, resolved as the
// daemon resolves it: its flags (this command's own, or else read from PID 1's command line when
// that is the daemon, as in the image), the environment and the YAML config file. With a web config
// that turns TLS on, it asks over HTTPS without verifying the certificate (it talks to its own
// container over loopback); where that config requires client certificates, which the check does
// not hold, a completed TCP connection is the answer. HEALTHCHECK_URL overrides the URL. Exit 0
// when healthy, 1 otherwise.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { loadListenSettings } from './config/load.js';
import { loadWebConfig } from './http/web-config.js';

/** The daemon's flags: this command's own when it has any; else what follows `…/cli.js` on PID 1's command line, when PID 1 is the daemon. */
function daemonArgv(): string[] {
  if (process.argv.length > 2) return process.argv.slice(2);
  try {
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter(Boolean);
    const at = args.findIndex((a) => /(^|\/)cli\.js$/.test(a));
    if (at >= 0) return args.slice(at + 1);
  } catch {
    // No procfs, or not allowed to read it: the environment and CONFIG_FILE alone.
  }
  return [];
}

const settings = loadListenSettings({ argv: daemonArgv(), env: process.env });
const port = settings.listen.port;
const tls = settings.webConfigFile ? loadWebConfig(settings.webConfigFile).tls : undefined;
const url = process.env.HEALTHCHECK_URL ?? `${tls ? 'https' : 'http'}://127.0.0.1:${port}/-/healthy`;

function tcpOpen(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function httpsOk(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 300);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function healthy(): Promise<boolean> {
  if (tls && (tls.clientAuth === 'RequireAnyClientCert' || tls.clientAuth === 'RequireAndVerifyClientCert')) return tcpOpen();
  if (url.startsWith('https:')) return httpsOk();
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

process.exit((await healthy()) ? 0 : 1);
