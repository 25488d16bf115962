// bcrypt basic auth as exporter-toolkit does it, without letting bcrypt stall the exporter:
// - bcrypt runs in one worker thread, one comparison at a time (exporter-toolkit serializes them
//   too), so the event loop that serves scrapes and runs the pollers never spends a second on it;
// - at most MAX_PENDING comparisons wait; past that a request is answered "busy" (429) at once;
// - verified credentials are cached (by a hash of user and password), so Prometheus' own scrapes
//   cost one comparison per process, not one per scrape; failures have a cache of their own, so a
//   flood of wrong passwords can never push a verified credential out (it did: 36 of 58 good
//   scrapes got 429 behind 64 workers guessing), and a verified one answers before the queue;
// - an unknown user is compared against the costliest configured hash, so response time does not
//   tell which users exist (give every user the same cost, and it tells nothing at all).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export const MAX_PENDING = 32;
/** How long closing waits for the queued checks (at most MAX_PENDING of them) before it ends them. */
const CLOSE_GRACE_MS = 10_000;
/** Failures remembered (oldest forgotten first); successes need a right password, so are few. */
const FAILURE_CACHE_LIMIT = 256;
const SUCCESS_CACHE_LIMIT = 256;

export type AuthResult = 'ok' | 'denied' | 'busy';
export type BasicAuthCheck = (authorization: string | null) => Promise<AuthResult>;

/** Compares a password with a bcrypt hash somewhere other than the caller's event loop. */
export interface BcryptVerifier {
  compare(password: string, hash: string): Promise<boolean>;
  close(): Promise<void>;
}

// CommonJS, evaluated in the worker: bcryptjs is resolved by the parent and passed in.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, password, hash }) => {
  let ok = false;
  try { ok = bcrypt.compareSync(password, hash); } catch { ok = false; }
  parentPort.postMessage({ id, ok });
});
`;

/** One worker thread running bcryptjs; comparisons are queued and run one at a time. */
function createWorkerVerifier(): BcryptVerifier {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptjs: createRequire(import.meta.url).resolve('bcryptjs') } });
  // The worker must not keep a stopping process alive.
  worker.unref();
  const waiting = new Map<number, (ok: boolean) => void>();
  let next = 0;
  let drained: (() => void) | undefined;
  const refuseAll = () => {
    for (const resolve of waiting.values()) resolve(false);
    waiting.clear();
  };
  worker.on('message', ({ id, ok }: { id: number; ok: boolean }) => {
    waiting.get(id)?.(ok);
    waiting.delete(id);
    if (waiting.size === 0) drained?.();
  });
  worker.on('error', refuseAll);
  // A worker that ends with checks still queued (terminated, crashed) answers them: denied.
  worker.on('exit', refuseAll);
  return {
    compare(password, hash) {
      return new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        worker.postMessage({ id, password, hash });
      });
    },
    /** Lets the checks already queued finish (a SIGHUP reload must not leave them hanging), then ends. */
    async close() {
      if (waiting.size > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, CLOSE_GRACE_MS).unref();
        });
      }
      await worker.terminate();
    },
  };
}

/** The configured hash that takes longest to check (highest cost), used for unknown users. */
function costliest(users: ReadonlyMap<string, string>): string {
  let best: string | undefined;
  let bestRounds = -1;
  for (const hash of users.values()) {
    let rounds = -1;
    try {
      rounds = bcrypt.getRounds(hash);
    } catch {
      // web-config validation has already refused anything that is not a bcrypt hash
    }
    if (rounds > bestRounds) [best, bestRounds] = [hash, rounds];
  }
  return best ?? '$2b$10$CwTycUXWue0Thq9StjUM0uJ8.PLxm5Dh2Y5AiSzYdHchTPWa2v2yG';
}

export function createBasicAuth(
  users: ReadonlyMap<string, string>,
  verifier: BcryptVerifier = createWorkerVerifier(),
): BasicAuthCheck & { close(): Promise<void> } {
  const verified = new Set<string>();
  const refused = new Set<string>();
  const dummy = costliest(users);
  let pending = 0;
  const check = async (authorization: string | null): Promise<AuthResult> => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
    if (!match) return 'denied';
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'denied';
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = createHash('sha256').update(user).update('\0').update(password).digest('hex');
    if (verified.has(key)) return 'ok';
    if (refused.has(key)) return 'denied';
    if (pending >= MAX_PENDING) return 'busy';
    const hash = users.get(user);
    pending++;
    let ok: boolean;
    try {
      ok = (await verifier.compare(password, hash ?? dummy)) && hash !== undefined;
    } finally {
      pending--;
    }
    const into = ok ? verified : refused;
    if (into.size >= (ok ? SUCCESS_CACHE_LIMIT : FAILURE_CACHE_LIMIT)) into.delete(into.values().next().value as string);
    into.add(key);
    return ok ? 'ok' : 'denied';
  };
  return Object.assign(check, { close: () => verifier.close() });
}
