// The container HEALTHCHECK: `node dist/healthcheck.js`, no shell or curl needed in the image.
// Asks /-/healthy (which needs no credentials) on the port from LISTEN_ADDRESS (default 9877).
// With a web config in WEB_CONFIG_FILE that turns TLS on, it asks over HTTPS without verifying the
// certificate (it talks to its own container over loopback); where that config requires client
// certificates, which the check does not hold, a completed TCP connection is the answer.
// HEALTHCHECK_URL overrides the URL. Exit 0 when healthy, 1 otherwise.
import https from 'node:https';
import net from 'node:net';
import { loadWebConfig } from './http/web-config.js';

const listen = process.env.LISTEN_ADDRESS ?? ':9877';
const port = Number(/:(\d+)$/.exec(listen)?.[1] ?? '9877');
const webConfigFile = process.env.WEB_CONFIG_FILE;
const tls = webConfigFile ? loadWebConfig(webConfigFile).tls : undefined;
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
