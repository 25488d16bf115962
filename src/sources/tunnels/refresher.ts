// The connections refresh's runner: a continuous, budgeted loop over every listed tunnel that can
// have connections, in the order of its queue (./refresh-queue.ts), instead of one crawl per list
// poll. Each result is stored as soon as it is read (batched for at most BATCH_MS), so no tunnel's
// series wait for a whole crawl. Requests go through the `refresh` lane of the budget: the lists
// have first claim, the refresh takes what is left. Concurrency follows the budget and the API's
// latency: enough requests in flight to use the refresh share, no more.
import { createTokenBucket, type Pace } from '../../budget/window.js';
import { delay, steadyNow } from '../../clock.js';
import type { Tunnel, TunnelConnections } from '../../domain/types.js';
import type { Logger } from '../../log.js';
import type { SnapshotStore } from '../../snapshot/store.js';
import { ApiAbortedError, ApiRateLimitedError } from '../../transport/errors.js';
import type { ApiClient } from '../../transport/http.js';
import { type OnCut, reportCuts } from '../answer.js';
import { errorMessage } from '../poll.js';
import { listConnectors } from './connectors-api.js';
import { normalizeConnectors } from './normalize.js';
import { deriveConnectors } from './reconnects.js';
import { type QueuedTunnel, RefreshQueue, type Urgency } from './refresh-queue.js';

/** cloudflared's default --ha-connections. */
const DEFAULT_HA_CONNECTIONS = 4;

const BATCH_MS = 200;
const MAX_CONCURRENCY = 32;

export interface ConnectionsRefresher {
  /** A new tunnel list for an account: new and changed tunnels are queued, gone ones forgotten. */
  update(accountId: string, tunnels: readonly Tunnel[]): void;
  /**
   * Tunnels whose read is due, per account (the refresh queue), as of the refresh's last decision:
   * every list, every read done, and at least once a second while tunnels wait.
   */
  queued(): ReadonlyMap<string, number>;
  /** Reads every tunnel due now, one at a time, and stores the results (for tests and tools). */
  drain(): Promise<void>;
  /** Resolves once the running refresh has nothing due or in flight, with the results stored. */
  settled(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface RefresherOptions {
  client: ApiClient;
  store: SnapshotStore;
  /** How often one tunnel is read at most (the tunnels schedule's interval). */
  intervalMs: number;
  /**
   * The refresh's pace: reads per second (the budget left after the lists) and how many may go at
   * once. When the whole fleet fits the budget the burst is that share, so the first complete
   * picture comes at once; when it does not, the burst is small and reads are spread evenly, so a
   * tunnel that just changed always finds a slot within about 1/perSecond.
   */
  pace: () => Pace;
  /** CLOUDFLARED_HA_CONNECTIONS: the connections a cfd_tunnel connector should hold; 0 learns them. */
  haConnections?: number;
  /** Counts what an answer had cut to the limits of ../answer.ts. */
  onCut?: OnCut;
  log?: Logger;
  now?: () => number;
}

/**
 * The results of reads, staged per account and written to the store together at most BATCH_MS
 * later, with the account's outcome: which tunnels' latest read failed, and why.
 */
function createBatch(store: SnapshotStore, now: () => number) {
  const listed = new Map<string, Set<string>>();
  const failing = new Map<string, Map<string, string>>();
  const pending = new Map<string, Map<string, TunnelConnections>>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latencyMs = 200;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [accountId, results] of pending) {
      const fails = failing.get(accountId) ?? new Map<string, string>();
      const [firstId, firstError] = fails.entries().next().value ?? [];
      const outcome = {
        ok: fails.size === 0,
        at: now(),
        durationSeconds: latencyMs / 1000,
        ...(fails.size > 0 ? { error: `${fails.size} tunnels' latest connections read failed; first (${firstId}): ${firstError}` } : {}),
      };
      store.recordConnections(accountId, listed.get(accountId) ?? new Set(), results, outcome);
    }
    pending.clear();
  };
  const soon = () => {
    timer ??= setTimeout(flush, BATCH_MS);
  };
  const failuresOf = (accountId: string) => {
    let fails = failing.get(accountId);
    if (!fails) {
      fails = new Map();
      failing.set(accountId, fails);
    }
    return fails;
  };

  return {
    flush,
    /** The account's list: what the store keeps; its news even when no tunnel changed (gone tunnels go). */
    listed(accountId: string, ids: Set<string>) {
      listed.set(accountId, ids);
      for (const id of failing.get(accountId)?.keys() ?? []) if (!ids.has(id)) failing.get(accountId)?.delete(id);
      if (!pending.has(accountId)) pending.set(accountId, new Map());
      soon();
    },
    stage(accountId: string, data: TunnelConnections, error?: string) {
      if (error === undefined) failing.get(accountId)?.delete(data.tunnelId);
      else failuresOf(accountId).set(data.tunnelId, error);
      let results = pending.get(accountId);
      if (!results) {
        results = new Map();
        pending.set(accountId, results);
      }
      results.set(data.tunnelId, data);
      soon();
    },
    /** The tunnel's latest data: staged, else stored. */
    previous: (accountId: string, tunnelId: string) =>
      pending.get(accountId)?.get(tunnelId) ?? store.snapshot().connections.get(accountId)?.data?.get(tunnelId),
    observeLatency(ms: number) {
      latencyMs = latencyMs * 0.8 + ms * 0.2;
    },
    latencyMs: () => latencyMs,
    /** The accounts whose list has arrived. */
    accounts: () => listed.keys(),
  };
}

type Batch = ReturnType<typeof createBatch>;

/** No connectors, decided from the list (inactive, long down); reconnects counted so far stay. */
function noCallData(tunnel: Tunnel, previous: TunnelConnections | undefined, t: number): TunnelConnections {
  return {
    tunnelId: tunnel.id,
    connectors: [],
    reconnects: previous?.reconnects ?? new Map(),
    replacements: previous?.replacements ?? 0,
    fetchedAt: t,
    fetched: false,
  };
}

/** Reads one tunnel's connectors and stages what the read gave: the derived data, or the error. */
async function readTunnel(
  q: QueuedTunnel,
  queue: RefreshQueue,
  batch: Batch,
  options: RefresherOptions & { now: () => number; signal: AbortSignal },
): Promise<void> {
  const { accountId, tunnel } = q;
  const started = performance.now();
  try {
    const observed = normalizeConnectors(await listConnectors(options.client, accountId, tunnel.type, tunnel.id, options.signal, 'refresh'));
    batch.observeLatency(performance.now() - started);
    reportCuts(observed.cuts, options.onCut);
    if (observed.skipped.connectors > 0 || observed.skipped.connections > 0) {
      options.log?.warn(
        { account_id: accountId, tunnel_id: tunnel.id, skipped_connectors: observed.skipped.connectors, skipped_connections: observed.skipped.connections },
        'connections answer had connectors or connections without an id, or with a repeated id: left them out',
      );
    }
    const haConnections = options.haConnections ?? DEFAULT_HA_CONNECTIONS;
    const derived = deriveConnectors(batch.previous(accountId, tunnel.id), observed.connectors, { type: tunnel.type, haConnections, at: options.now() });
    if (queue.succeeded(q, options.now())) batch.stage(accountId, { tunnelId: tunnel.id, ...derived, fetchedAt: options.now(), fetched: true });
  } catch (err) {
    if (options.signal.aborted || err instanceof ApiAbortedError) {
      queue.abandoned(q);
      return;
    }
    // The previous data stays (until STALE_DATA_MAX_AGE); the tunnel is tried again later.
    queue.failed(q, options.now());
    const error = errorMessage(err);
    const previous = batch.previous(accountId, tunnel.id);
    const none = { tunnelId: tunnel.id, connectors: [], reconnects: new Map(), replacements: 0, fetchedAt: 0, fetched: false };
    batch.stage(accountId, { ...(previous ?? none), error }, error);
    // A lockout holds every request: wait it out instead of failing the whole queue at once.
    if (err instanceof ApiRateLimitedError) await delay(err.retryAfterMs, options.signal).catch(() => undefined);
  }
}

export function createConnectionsRefresher(options: RefresherOptions): ConnectionsRefresher {
  const now = options.now ?? steadyNow;
  const controller = new AbortController();
  const queue = new RefreshQueue(options.intervalMs);
  const batch = createBatch(options.store, now);
  const bucket = createTokenBucket(options.pace, now);
  const readOptions = { ...options, now, signal: controller.signal };
  const read = (pick: { tunnel: QueuedTunnel; urgency: Urgency }) => {
    queue.begin(pick);
    return readTunnel(pick.tunnel, queue, batch, readOptions);
  };
  const next = (skip?: ReadonlySet<QueuedTunnel>) => queue.next(now(), skip);
  /** Requests in flight needed to use the refresh share at the API's latency (at least one). */
  const concurrency = () => Math.max(1, Math.min(MAX_CONCURRENCY, Math.ceil(options.pace().perSecond * (batch.latencyMs() / 1000)) + 1));
  const runner = createRunner({
    signal: controller.signal,
    concurrency,
    next,
    read,
    takeToken: () => bucket.take(controller.signal),
    refund: () => bucket.refund(),
    now,
  });

  return {
    update(accountId, tunnels) {
      const t = now();
      batch.listed(accountId, new Set(tunnels.map((x) => x.id)));
      // Staged at every list poll: the list is what this decision is read from, so it is as fresh as the list.
      for (const tunnel of queue.update(accountId, tunnels, t)) batch.stage(accountId, noCallData(tunnel, batch.previous(accountId, tunnel.id), t));
      // Counted at once (the queue gauge), whenever the loop wakes.
      next();
      runner.wake();
    },
    queued() {
      // Without the refresh loop (tests, one-off tools) nothing scans: scan now.
      if (!runner.running()) next();
      const out = new Map<string, number>();
      for (const accountId of batch.accounts()) out.set(accountId, 0);
      for (const [accountId, n] of queue.dueByAccount()) out.set(accountId, n);
      return out;
    },
    async drain() {
      // Each tunnel due, once, in the running refresh's order.
      const drained = new Set<QueuedTunnel>();
      for (let pick = next(drained); 'tunnel' in pick; pick = next(drained)) {
        drained.add(pick.tunnel);
        await read(pick);
      }
      batch.flush();
    },
    async settled() {
      while (queue.busy(now()) && !controller.signal.aborted) await delay(20, controller.signal).catch(() => undefined);
      batch.flush();
    },
    start: () => runner.start(),
    async stop() {
      controller.abort(new Error('exporter stopping'));
      await runner.stopped();
      batch.flush();
    },
  };
}

interface RunnerOptions {
  signal: AbortSignal;
  concurrency: () => number;
  next: () => ReturnType<RefreshQueue['next']>;
  read: (pick: { tunnel: QueuedTunnel; urgency: Urgency }) => Promise<void>;
  takeToken: () => Promise<void>;
  refund: () => void;
  now: () => number;
}

/** Keeps enough workers reading, each taking a slot of the pace and then the most urgent tunnel; sleeps until the next falls due. */
function createRunner(o: RunnerOptions) {
  const workers = new Set<Promise<void>>();
  let running = 0;
  let wake: (() => void) | undefined;
  let looping: Promise<void> | undefined;

  const worker = async () => {
    running++;
    try {
      while (!o.signal.aborted && running <= o.concurrency() && 'tunnel' in o.next()) {
        // The slot first, then the choice: the most urgent tunnel at the time the slot comes.
        await o.takeToken();
        const pick = o.next();
        if (!('tunnel' in pick)) {
          o.refund();
          break;
        }
        await o.read(pick);
      }
    } catch (err) {
      if (!o.signal.aborted) throw err;
    } finally {
      running--;
    }
  };

  const loop = async () => {
    while (!o.signal.aborted) {
      while (running < o.concurrency() && 'tunnel' in o.next()) {
        const w = worker();
        workers.add(w);
        void w.finally(() => {
          workers.delete(w);
          wake?.();
        });
      }
      const pick = o.next();
      const wait = 'at' in pick ? Math.max(10, Math.min(pick.at - o.now(), 60_000)) : 1000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  return {
    start() {
      looping ??= loop();
    },
    running: () => looping !== undefined,
    wake: () => wake?.(),
    async stopped() {
      wake?.();
      await looping;
      await Promise.all(workers);
    },
  };
}
