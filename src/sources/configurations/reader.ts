// Reads tunnel configurations, one call per tunnel, in the budget's refresh lane and at most a
// fixed share of the budget (budget/plan.ts, configurationsPace): the lists come first and the
// connections refresh keeps the rest. Looks at the snapshot after every tunnels list and
// connections round (./due.ts says what is due), and reads every configuration again on
// CONFIGURATIONS_SCHEDULE (sweep). Each account's reads go into the store as one round.
// A credential without the permission turns the source off for that account for an hour, once
// logged, like the other optional sources (../poll.ts).
import { setTimeout as delay } from 'node:timers/promises';
import { createTokenBucket, type Pace } from '../../budget/window.js';
import { steadyNow } from '../../clock.js';
import { hasConfiguration, type Tunnel, type TunnelConfiguration } from '../../domain/types.js';
import type { Logger } from '../../log.js';
import { freshData, type SnapshotStore } from '../../snapshot/store.js';
import { ApiAuthError, ApiRateLimitedError } from '../../transport/errors.js';
import type { ApiClient } from '../../transport/http.js';
import { noCuts } from '../answer.js';
import { errorMessage, isAbort, PERMISSION_RECHECK_MS, type PollReporter, recordSkipped } from '../poll.js';
import { getTunnelConfiguration, getWarpConfiguration } from './api.js';
import { configurationsDue, type ReadMemory } from './due.js';
import { normalizeTunnelConfiguration, normalizeWarpConfiguration } from './normalize.js';

export interface ConfigurationReaderOptions {
  client: ApiClient;
  store: SnapshotStore;
  reporter: PollReporter;
  /** The share of the budget configuration reads may use. */
  pace: () => Pace;
  staleDataMaxAgeMs: number;
  log: Logger;
  now?: () => number;
}

interface Queued {
  accountId: string;
  tunnel: Tunnel;
}

/** Reads per account that go into the store together (a round), so a sweep of thousands is not a render per read. */
const READS_PER_ROUND = 25;

export class ConfigurationReader {
  private readonly now: () => number;
  private readonly controller = new AbortController();
  private readonly bucket;
  /** What waits, in order: `changed` (a connector reports a newer version) before the rest (first reads, the sweep). */
  private readonly changed = new Map<string, Queued>();
  private readonly queue = new Map<string, Queued>();
  private readonly memory = new Map<string, ReadMemory>();
  /** Per account, what the round being read holds, and whether any read of it failed. */
  private readonly rounds = new Map<string, { results: Map<string, TunnelConfiguration>; failed: number; finish: ReturnType<PollReporter['begin']> }>();
  private readonly skippedUntil = new Map<string, number>();
  /** The account/tunnel whose configuration is being read now. */
  private reading: string | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: ConfigurationReaderOptions) {
    this.now = options.now ?? steadyNow;
    this.bucket = createTokenBucket(options.pace, this.now);
  }

  /** Follows the store: every tunnels list and connections round may make configurations due. */
  start(): void {
    this.unsubscribe = this.options.store.subscribe((_, change) => {
      if (change.collector === 'tunnels' || change.collector === 'connections') this.look(change.scope);
    });
  }

  /** CONFIGURATIONS_SCHEDULE: every configuration of the account is read again. */
  sweep(accountId: string): void {
    const tunnels = freshData(this.options.store.snapshot().tunnels.get(accountId), this.now(), this.options.staleDataMaxAgeMs) ?? [];
    for (const tunnel of tunnels) if (hasConfiguration(tunnel)) this.enqueue(accountId, tunnel);
    this.wake();
  }

  /** Tunnels waiting for their configuration read. */
  queued(): number {
    return this.changed.size + this.queue.size;
  }

  /** Resolves once nothing is queued or being read (tests, and stop). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.controller.abort(new Error('exporter stopping'));
    await this.settled();
  }

  private look(accountId: string): void {
    let memory = this.memory.get(accountId);
    if (!memory) {
      memory = { askedFor: new Map(), failedAt: new Map() };
      this.memory.set(accountId, memory);
    }
    const { changed, unread } = configurationsDue(this.options.store.snapshot(), accountId, memory, this.now(), this.options.staleDataMaxAgeMs);
    for (const tunnel of changed) this.enqueue(accountId, tunnel, true);
    for (const tunnel of unread) this.enqueue(accountId, tunnel);
    if (changed.length + unread.length > 0) this.wake();
  }

  private enqueue(accountId: string, tunnel: Tunnel, changed = false): void {
    if (this.now() < (this.skippedUntil.get(accountId) ?? -Infinity)) return;
    const key = `${accountId}/${tunnel.id}`;
    // Being read, or read and not in the store yet: the snapshot cannot show it yet, so it is not due again.
    if (key === this.reading || this.rounds.get(accountId)?.results.has(tunnel.id)) return;
    if (this.changed.has(key)) return;
    if (changed) {
      // Ahead of a sweep's backlog, which a big fleet takes hours to read at its share of the budget.
      this.queue.delete(key);
      this.changed.set(key, { accountId, tunnel });
    } else this.queue.set(key, { accountId, tunnel });
  }

  private wake(): void {
    if (this.running || this.controller.signal.aborted || this.queued() === 0) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    const signal = this.controller.signal;
    try {
      for (let next = this.first(); next && !signal.aborted; next = this.first()) {
        await this.bucket.take(signal);
        this.reading = `${next.accountId}/${next.tunnel.id}`;
        this.changed.delete(this.reading);
        this.queue.delete(this.reading);
        try {
          await this.read(next, signal);
        } finally {
          this.reading = undefined;
        }
        if (!this.hasQueued(next.accountId) || (this.rounds.get(next.accountId)?.results.size ?? 0) >= READS_PER_ROUND) this.flush(next.accountId);
      }
    } catch (err) {
      if (!isAbort(err, signal)) throw err;
    } finally {
      for (const accountId of [...this.rounds.keys()]) this.flush(accountId);
    }
  }

  private first(): Queued | undefined {
    return this.changed.values().next().value ?? this.queue.values().next().value;
  }

  private hasQueued(accountId: string): boolean {
    for (const waiting of [this.changed, this.queue]) for (const q of waiting.values()) if (q.accountId === accountId) return true;
    return false;
  }

  private async read({ accountId, tunnel }: Queued, signal: AbortSignal): Promise<void> {
    let round = this.rounds.get(accountId);
    if (!round) {
      round = { results: new Map(), failed: 0, finish: this.options.reporter.begin() };
      this.rounds.set(accountId, round);
    }
    const { client } = this.options;
    try {
      const cuts = noCuts();
      const t = this.now();
      const configuration =
        tunnel.type === 'warp_connector'
          ? normalizeWarpConfiguration(tunnel.id, await getWarpConfiguration(client, accountId, tunnel.id, signal), t)
          : normalizeTunnelConfiguration(tunnel.id, await getTunnelConfiguration(client, accountId, tunnel.id, signal), t, cuts);
      this.options.reporter.cut(cuts);
      round.results.set(tunnel.id, configuration);
      this.memory.get(accountId)?.failedAt.delete(tunnel.id);
      // Allowed again: a later refusal is news, and warned about.
      this.skippedUntil.delete(accountId);
    } catch (err) {
      if (isAbort(err, signal)) throw err;
      if (err instanceof ApiAuthError) return this.skip(accountId, err);
      round.failed++;
      this.memory.get(accountId)?.failedAt.set(tunnel.id, this.now());
      const previous = this.options.store.snapshot().tunnel_configurations.get(accountId)?.data?.get(tunnel.id);
      if (previous) round.results.set(tunnel.id, { ...previous, error: errorMessage(err) });
      this.options.reporter.failed('tunnel_configurations', accountId, err);
      if (err instanceof ApiRateLimitedError) await delay(Math.min(err.retryAfterMs, 60_000), undefined, { signal }).catch(() => undefined);
    }
  }

  /** The credential may not read configurations in this account: say so once, and ask again in an hour. */
  private skip(accountId: string, err: ApiAuthError): void {
    const first = !this.skippedUntil.has(accountId);
    this.skippedUntil.set(accountId, this.now() + PERMISSION_RECHECK_MS);
    for (const waiting of [this.changed, this.queue]) for (const [key, q] of waiting) if (q.accountId === accountId) waiting.delete(key);
    const round = this.rounds.get(accountId);
    this.rounds.delete(accountId);
    const { store, log } = this.options;
    recordSkipped(
      { store, log, collector: 'tunnel_configurations', scope: accountId, err, first },
      (round?.finish ?? this.options.reporter.begin())(false, err),
    );
  }

  /** The account's round into the store: the tunnels that have a configuration now, each read result or its previous data. */
  private flush(accountId: string): void {
    const round = this.rounds.get(accountId);
    if (!round) return;
    this.rounds.delete(accountId);
    const snapshot = this.options.store.snapshot();
    const listed = snapshot.tunnels.get(accountId)?.data ?? [];
    const wanted = new Set(listed.filter(hasConfiguration).map((t) => t.id));
    const ok = round.failed === 0;
    const outcome = round.finish(ok, ok ? undefined : new Error(`${round.failed} configuration reads failed`));
    this.options.store.recordConfigurations(accountId, wanted, round.results, outcome);
    if (ok) this.options.reporter.succeeded('tunnel_configurations', accountId, outcome, round.results.size);
  }
}
