// The connections refresh: a continuous, budgeted loop over every listed tunnel that can have
// connections, instead of one crawl per list poll. Each tunnel is read at most once per tunnels
// interval, in this order:
//   1. tunnels whose status, conns_active_at or conns_inactive_at changed since their last read
//      (a tunnel that just came up gets its colos at once);
//   2. degraded tunnels, but never two slots in a row while another tunnel is due: however many
//      are degraded, the rest get at least every other slot;
//   3. the rest, never read first, then oldest data first, so nothing starves.
// Each result is stored as soon as it is read (batched for at most BATCH_MS), so no tunnel's series
// wait for a whole crawl. Requests go through the `refresh` lane of the budget: the lists have
// first claim, the refresh takes what is left. Concurrency follows the budget and the API's
// latency: enough requests in flight to use the refresh share, no more.
import { createTokenBucket, type Pace } from '../../budget/window.js';
import { delay, steadyNow } from '../../clock.js';
import { needsConnectionsCall, type Tunnel, type TunnelConnections } from '../../domain/types.js';
import type { Logger } from '../../log.js';
import type { SnapshotStore } from '../../snapshot/store.js';
import { ApiAbortedError, ApiRateLimitedError } from '../../transport/errors.js';
import type { ApiClient } from '../../transport/http.js';
import { type OnCut, reportCuts } from '../answer.js';
import { errorMessage } from '../poll.js';
import { listConnectors } from './connectors-api.js';
import { normalizeConnectors } from './normalize.js';
import { deriveConnectors } from './reconnects.js';

/** cloudflared's default --ha-connections. */
const DEFAULT_HA_CONNECTIONS = 4;

const BATCH_MS = 200;
const MAX_CONCURRENCY = 32;

/** What a tunnel's list entry said at a reference point: a change from it makes the tunnel urgent. */
interface ListValues {
  status: string;
  activeAt: number | undefined;
  inactiveAt: number | undefined;
}

// One shape for every tunnel: the scans over all entries (next(), queued()) stay fast at 10,000.
const valuesOf = (t: Tunnel): ListValues => ({ status: t.status, activeAt: t.connsActiveAt, inactiveAt: t.connsInactiveAt });
const changedFrom = (ref: ListValues, t: Tunnel) => ref.status !== t.status || ref.activeAt !== t.connsActiveAt || ref.inactiveAt !== t.connsInactiveAt;

interface Entry {
  accountId: string;
  tunnel: Tunnel;
  /** Whether its status means it can have connectors worth a call (inactive and long-down: no). */
  needsCall: boolean;
  /**
   * The list values of its last read, or of the last list that decided it needs no call, or, for
   * a tunnel never read, of the list that first showed it: a change from them makes it urgent.
   */
  reference: ListValues;
  readAt?: number;
  /** After a failed read, not before this. */
  retryAt?: number;
  inFlight: boolean;
}

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
  /** Counts what an answer had cut to the limits of ./bounds.ts. */
  onCut?: OnCut;
  log?: Logger;
  now?: () => number;
}

export function createConnectionsRefresher(options: RefresherOptions): ConnectionsRefresher {
  const { client, store, intervalMs } = options;
  const haConnections = options.haConnections ?? DEFAULT_HA_CONNECTIONS;
  const now = options.now ?? steadyNow;
  const controller = new AbortController();
  const entries = new Map<string, Entry>();
  const listed = new Map<string, Set<string>>();
  const failing = new Map<string, Map<string, string>>();
  const pending = new Map<string, Map<string, TunnelConnections>>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let running = 0;
  let started = false;
  let latencyMs = 200;
  const workers = new Set<Promise<void>>();
  const bucket = createTokenBucket(options.pace, now);
  /** Waits for a slot in the refresh's pace. */
  const takeToken = () => bucket.take(controller.signal);

  const key = (accountId: string, tunnelId: string) => `${accountId}/${tunnelId}`;

  const flush = () => {
    flushTimer = undefined;
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
  const stage = (accountId: string, data: TunnelConnections) => {
    let results = pending.get(accountId);
    if (!results) {
      results = new Map();
      pending.set(accountId, results);
    }
    results.set(data.tunnelId, data);
    flushTimer ??= setTimeout(flush, BATCH_MS);
  };

  const previousOf = (accountId: string, tunnelId: string) =>
    pending.get(accountId)?.get(tunnelId) ?? store.snapshot().connections.get(accountId)?.data?.get(tunnelId);

  /**
   * 0: its list values changed from its reference (it came up, went down, reconnected);
   * 1: degraded, and due or never read; 2: the rest, due or never read;
   * undefined: not due, in flight, waiting after a failure, or no call needed. A tunnel never read
   * is not urgent by itself: with a fleet larger than the budget the first crawl never ends, and a
   * tunnel that comes up must not wait behind it.
   */
  const classOf = (e: Entry, t: number): number | undefined => {
    if (!e.needsCall || e.inFlight || (e.retryAt !== undefined && e.retryAt > t)) return undefined;
    if (changedFrom(e.reference, e.tunnel)) return 0;
    if (e.readAt !== undefined && e.readAt + intervalMs > t) return undefined;
    return e.tunnel.status === 'degraded' ? 1 : 2;
  };
  /** Within a class, never read first, then oldest data first. */
  const older = (a: Entry, b: Entry | undefined) => b === undefined || (a.readAt ?? -Infinity) < (b.readAt ?? -Infinity);
  /** Whether the last slot went to a degraded tunnel (class 1): the next goes to class 2 if one is due. */
  let lastWasDegraded = false;
  const pickOf = (best: (Entry | undefined)[]): Entry | undefined => best[0] ?? (lastWasDegraded ? (best[2] ?? best[1]) : (best[1] ?? best[2]));

  /** The tunnel next() chose, and whether it was chosen as a degraded one (class 1). */
  type Picked = { entry: Entry; degraded: boolean };

  /** Tunnels due per account, as of the last scan (see queued()). */
  let dueCounts = new Map<string, number>();

  /**
   * The next tunnel to read, or the time the next one falls due. The scan also counts the tunnels
   * due per account: the refresh scans at every decision (a list arriving, a read done, a tunnel
   * falling due), so a scrape reads the queue from here instead of scanning 10,000 tunnels again.
   */
  const next = (skip?: ReadonlySet<Entry>): Picked | { at: number } => {
    const t = now();
    const best: (Entry | undefined)[] = [undefined, undefined, undefined];
    let earliest = Infinity;
    const counts = new Map<string, number>();
    // Entries come in runs per account (each list adds its own): one map update per run.
    let account: string | undefined;
    let n = 0;
    for (const e of entries.values()) {
      if (skip?.has(e)) continue;
      const c = classOf(e, t);
      if (c === undefined) {
        if (e.needsCall && !e.inFlight) earliest = Math.min(earliest, e.retryAt !== undefined && e.retryAt > t ? e.retryAt : (e.readAt ?? 0) + intervalMs);
        continue;
      }
      if (e.accountId !== account) {
        if (account !== undefined) counts.set(account, (counts.get(account) ?? 0) + n);
        account = e.accountId;
        n = 0;
      }
      n++;
      if (older(e, best[c])) best[c] = e;
    }
    if (account !== undefined) counts.set(account, (counts.get(account) ?? 0) + n);
    dueCounts = counts;
    const entry = pickOf(best);
    return entry ? { entry, degraded: entry === best[1] } : { at: earliest };
  };

  /** Reads the tunnel next() picked, remembering whether the slot went to a degraded one. */
  const readPicked = (pick: Picked) => {
    lastWasDegraded = pick.degraded;
    return read(pick.entry);
  };

  const read = async (e: Entry) => {
    const { accountId, tunnel } = e;
    e.inFlight = true;
    const readFor = valuesOf(tunnel);
    const started = performance.now();
    try {
      const observed = normalizeConnectors(await listConnectors(client, accountId, tunnel.type, tunnel.id, controller.signal, 'refresh'));
      latencyMs = latencyMs * 0.8 + (performance.now() - started) * 0.2;
      reportCuts(observed.cuts, options.onCut);
      if (observed.skipped.connectors > 0 || observed.skipped.connections > 0) {
        options.log?.warn(
          { account_id: accountId, tunnel_id: tunnel.id, skipped_connectors: observed.skipped.connectors, skipped_connections: observed.skipped.connections },
          'connections answer had connectors or connections without an id, or with a repeated id: left them out',
        );
      }
      const derived = deriveConnectors(previousOf(accountId, tunnel.id), observed.connectors, { type: tunnel.type, haConnections, at: now() });
      const data = { tunnelId: tunnel.id, ...derived, fetchedAt: now(), fetched: true };
      Object.assign(e, { reference: readFor, readAt: now(), inFlight: false });
      delete e.retryAt;
      failing.get(accountId)?.delete(tunnel.id);
      if (entries.get(key(accountId, tunnel.id)) === e) stage(accountId, data);
    } catch (err) {
      e.inFlight = false;
      if (controller.signal.aborted || err instanceof ApiAbortedError) return;
      // The previous data stays (until STALE_DATA_MAX_AGE); the tunnel is tried again later.
      e.retryAt = now() + Math.min(intervalMs, 60_000);
      let fails = failing.get(accountId);
      if (!fails) {
        fails = new Map();
        failing.set(accountId, fails);
      }
      fails.set(tunnel.id, errorMessage(err));
      const previous = previousOf(accountId, tunnel.id);
      if (previous) stage(accountId, { ...previous, error: errorMessage(err) });
      else
        stage(accountId, {
          tunnelId: tunnel.id,
          connectors: [],
          reconnects: new Map(),
          replacements: 0,
          fetchedAt: 0,
          fetched: false,
          error: errorMessage(err),
        });
      // A lockout holds every request: wait it out instead of failing the whole queue at once.
      if (err instanceof ApiRateLimitedError) await delay(err.retryAfterMs, controller.signal).catch(() => undefined);
    }
  };

  /** Requests in flight needed to use the refresh share at the API's latency (at least one). */
  const concurrency = () => Math.max(1, Math.min(MAX_CONCURRENCY, Math.ceil(options.pace().perSecond * (latencyMs / 1000)) + 1));

  const worker = async () => {
    running++;
    try {
      while (!controller.signal.aborted && running <= concurrency() && 'entry' in next()) {
        // The slot first, then the choice: the most urgent tunnel at the time the slot comes.
        await takeToken();
        const pick = next();
        if (!('entry' in pick)) {
          bucket.refund();
          break;
        }
        await readPicked(pick);
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    } finally {
      running--;
    }
  };

  /** Keeps enough workers running, and sleeps until the next tunnel falls due. */
  const loop = async () => {
    while (!controller.signal.aborted) {
      while (running < concurrency() && 'entry' in next()) {
        const w = worker();
        workers.add(w);
        void w.finally(() => {
          workers.delete(w);
          wake?.();
        });
      }
      const pick = next();
      const wait = 'at' in pick ? Math.max(10, Math.min(pick.at - now(), 60_000)) : 1000;
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
  let looping: Promise<void> | undefined;

  return {
    update(accountId, tunnels) {
      const t = now();
      const ids = new Set(tunnels.map((x) => x.id));
      listed.set(accountId, ids);
      for (const [k, e] of entries) if (e.accountId === accountId && !ids.has(e.tunnel.id)) entries.delete(k);
      for (const id of failing.get(accountId)?.keys() ?? []) if (!ids.has(id)) failing.get(accountId)?.delete(id);
      for (const tunnel of tunnels) {
        const k = key(accountId, tunnel.id);
        let e = entries.get(k);
        if (!e) {
          e = { accountId, tunnel, needsCall: false, reference: valuesOf(tunnel), inFlight: false };
          entries.set(k, e);
        }
        e.tunnel = tunnel;
        e.needsCall = needsConnectionsCall(tunnel, t);
        if (!e.needsCall) {
          // No call: no connectors, decided from the status; reconnects counted so far stay. The
          // decision is the reference: a tunnel that comes up has changed from it.
          e.reference = valuesOf(tunnel);
          failing.get(accountId)?.delete(tunnel.id);
          // Staged at every list poll: the list is what this decision is read from, so it is as
          // fresh as the list.
          const previous = previousOf(accountId, tunnel.id);
          stage(accountId, {
            tunnelId: tunnel.id,
            connectors: [],
            reconnects: previous?.reconnects ?? new Map(),
            replacements: previous?.replacements ?? 0,
            fetchedAt: t,
            fetched: false,
          });
        }
      }
      // The list itself is news for the store even when no tunnel changed (gone tunnels go).
      if (!pending.has(accountId)) pending.set(accountId, new Map());
      flushTimer ??= setTimeout(flush, BATCH_MS);
      // Counted at once (the queue gauge), whenever the loop wakes.
      next();
      wake?.();
    },
    queued() {
      // Without the refresh loop (tests, one-off tools) nothing scans: scan now.
      if (!looping) next();
      const out = new Map<string, number>();
      for (const accountId of listed.keys()) out.set(accountId, dueCounts.get(accountId) ?? 0);
      return out;
    },
    async drain() {
      // Each tunnel due, once, in the running refresh's order.
      const drained = new Set<Entry>();
      for (let pick = next(drained); 'entry' in pick; pick = next(drained)) {
        drained.add(pick.entry);
        await readPicked(pick);
      }
      if (flushTimer) clearTimeout(flushTimer);
      flush();
    },
    async settled() {
      const busy = () => {
        const t = now();
        for (const e of entries.values()) if (e.inFlight || classOf(e, t) !== undefined) return true;
        return false;
      };
      while (busy() && !controller.signal.aborted) await delay(20, controller.signal).catch(() => undefined);
      if (flushTimer) clearTimeout(flushTimer);
      flush();
    },
    start() {
      if (started) return;
      started = true;
      looping = loop();
    },
    async stop() {
      controller.abort(new Error('exporter stopping'));
      wake?.();
      await looping;
      await Promise.all(workers);
      if (flushTimer) clearTimeout(flushTimer);
      flush();
    },
  };
}
