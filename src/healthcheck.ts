// The container HEALTHCHECK: `node dist/healthcheck.js`, no shell or curl needed in the image.
// Asks /-/healthy on the port from LISTEN_ADDRESS (default 9877); HEALTHCHECK_URL overrides.
// Exit 0 when healthy, 1 otherwise.
const listen = process.env.LISTEN_ADDRESS ?? ':9877';
const port = /:(\d+)$/.exec(listen)?.[1] ?? '9877';
const url = process.env.HEALTHCHECK_URL ?? `http://127.0.0.1:${port}/-/healthy`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
