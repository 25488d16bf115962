// Every test process may talk to loopback only. A test that accidentally points a client at the
// real Cloudflare or PostHog API (which could DELETE real connectors) fails here, before a byte
// leaves the machine. Plain JavaScript so the daemons the tests spawn load it too
// (NODE_OPTIONS=--import, see daemon.ts), not only vitest's workers (setupFiles).
import net from 'node:net';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

function hostOf(args) {
  const first = args[0];
  if (Array.isArray(first)) return hostOf(first);
  if (typeof first === 'object' && first !== null) {
    if (first.path) return 'localhost'; // unix socket
    return first.host ?? 'localhost';
  }
  if (typeof first === 'number') return typeof args[1] === 'string' ? args[1] : 'localhost';
  if (typeof first === 'string') return 'localhost'; // unix socket path
  return undefined;
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const host = hostOf(args);
  if (host !== undefined && !LOOPBACK.test(host.replace(/^\[|\]$/g, ''))) {
    throw new Error(`test network guard: refusing to connect to ${host}; tests may reach loopback only`);
  }
  return originalConnect.apply(this, args);
};
