// The connections refresh's queue, as plain data: which tunnel's connections to read next. Each
// tunnel is read at most once per tunnels interval, in this order:
//   1. `changed`: its status, conns_active_at or conns_inactive_at changed since its last read (a
//      tunnel that just came up gets its colos at once);
//   2. `degraded`: degraded tunnels, but never two slots in a row while another tunnel is due:
//      however many are degraded, the rest get at least every other slot;
//   3. `due`: the rest, never read first, then oldest data first, so nothing starves.
// A tunnel never read is not urgent by itself: with a fleet larger than the budget the first crawl
// never ends, and a tunnel that comes up must not wait behind it. No I/O and no clock: the caller
// says what time it is. The runner is ./refresher.ts.
import { needsConnectionsCall, type Tunnel } from '../../domain/types.js';

export const URGENCIES = ['changed', 'degraded', 'due'] as const;
export type Urgency = (typeof URGENCIES)[number];

/** What a tunnel's list entry said at a reference point: a change from it makes the tunnel urgent. */
interface ListValues {
  status: string;
  activeAt: number | undefined;
  inactiveAt: number | undefined;
}

// One shape for every tunnel: the scans over all entries stay fast at 10,000.
const valuesOf = (t: Tunnel): ListValues => ({ status: t.status, activeAt: t.connsActiveAt, inactiveAt: t.connsInactiveAt });
const changedFrom = (ref: ListValues, t: Tunnel) => ref.status !== t.status || ref.activeAt !== t.connsActiveAt || ref.inactiveAt !== t.connsInactiveAt;

export interface QueuedTunnel {
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
  /** The list values its read in flight was asked for. */
  readFor?: ListValues;
}

/** The tunnel to read next and why, or when the next one falls due (Infinity: none will). */
export type Next = { tunnel: QueuedTunnel; urgency: Urgency } | { at: number };

/** Within an urgency, never read first, then oldest data first. */
const older = (a: QueuedTunnel, b: QueuedTunnel | undefined) => b === undefined || (a.readAt ?? -Infinity) < (b.readAt ?? -Infinity);

export class RefreshQueue {
  private readonly tunnels = new Map<string, QueuedTunnel>();
  /** Whether the last slot went to a degraded tunnel: the next goes to a `due` one if one waits. */
  private lastWasDegraded = false;
  private dueCounts = new Map<string, number>();

  /** `intervalMs`: how often one tunnel is read at most; `retryMs`: how long after a failed read. */
  constructor(
    private readonly intervalMs: number,
    private readonly retryMs = Math.min(intervalMs, 60_000),
  ) {}

  /**
   * A new list for an account: new tunnels join, gone ones leave, each one's call need is decided
   * from its status. Returns the tunnels that need no call (no connectors, decided from the list).
   */
  update(accountId: string, tunnels: readonly Tunnel[], t: number): Tunnel[] {
    const ids = new Set(tunnels.map((x) => x.id));
    for (const [k, q] of this.tunnels) if (q.accountId === accountId && !ids.has(q.tunnel.id)) this.tunnels.delete(k);
    const noCall: Tunnel[] = [];
    for (const tunnel of tunnels) {
      const k = `${accountId}/${tunnel.id}`;
      let q = this.tunnels.get(k);
      if (!q) {
        q = { accountId, tunnel, needsCall: false, reference: valuesOf(tunnel), inFlight: false };
        this.tunnels.set(k, q);
      }
      q.tunnel = tunnel;
      q.needsCall = needsConnectionsCall(tunnel, t);
      if (!q.needsCall) {
        // The decision is the reference: a tunnel that comes up has changed from it.
        q.reference = valuesOf(tunnel);
        noCall.push(tunnel);
      }
    }
    return noCall;
  }

  /** Why the tunnel is due now, or undefined: not due, in flight, waiting after a failure, or no call needed. */
  urgencyOf(q: QueuedTunnel, t: number): Urgency | undefined {
    if (!q.needsCall || q.inFlight || (q.retryAt !== undefined && q.retryAt > t)) return undefined;
    if (changedFrom(q.reference, q.tunnel)) return 'changed';
    if (q.readAt !== undefined && q.readAt + this.intervalMs > t) return undefined;
    return q.tunnel.status === 'degraded' ? 'degraded' : 'due';
  }

  /**
   * The tunnel to read next, or when the next falls due. The scan also counts the tunnels due per
   * account (see dueByAccount()): it runs at every decision, so nothing scans 10,000 tunnels again.
   */
  next(t: number, skip?: ReadonlySet<QueuedTunnel>): Next {
    const best: Partial<Record<Urgency, QueuedTunnel>> = {};
    let earliest = Infinity;
    const counts = new Map<string, number>();
    // Tunnels come in runs per account (each list adds its own): one map update per run.
    let account: string | undefined;
    let n = 0;
    for (const q of this.tunnels.values()) {
      if (skip?.has(q)) continue;
      const urgency = this.urgencyOf(q, t);
      if (urgency === undefined) {
        if (q.needsCall && !q.inFlight) earliest = Math.min(earliest, q.retryAt !== undefined && q.retryAt > t ? q.retryAt : (q.readAt ?? 0) + this.intervalMs);
        continue;
      }
      if (q.accountId !== account) {
        if (account !== undefined) counts.set(account, (counts.get(account) ?? 0) + n);
        account = q.accountId;
        n = 0;
      }
      n++;
      if (older(q, best[urgency])) best[urgency] = q;
    }
    if (account !== undefined) counts.set(account, (counts.get(account) ?? 0) + n);
    this.dueCounts = counts;
    const order: Urgency[] = this.lastWasDegraded ? ['changed', 'due', 'degraded'] : ['changed', 'degraded', 'due'];
    const urgency = order.find((u) => best[u] !== undefined);
    return urgency ? { tunnel: best[urgency] as QueuedTunnel, urgency } : { at: earliest };
  }

  /** The picked tunnel's read begins. */
  begin(pick: { tunnel: QueuedTunnel; urgency: Urgency }): void {
    this.lastWasDegraded = pick.urgency === 'degraded';
    pick.tunnel.inFlight = true;
    pick.tunnel.readFor = valuesOf(pick.tunnel.tunnel);
  }

  /** Its read succeeded at `t`: what it was read for is the new reference. Whether it is still listed. */
  succeeded(q: QueuedTunnel, t: number): boolean {
    Object.assign(q, { reference: q.readFor ?? q.reference, readAt: t, inFlight: false });
    delete q.retryAt;
    return this.isListed(q);
  }

  /** Its read failed at `t`: tried again after retryMs. */
  failed(q: QueuedTunnel, t: number): void {
    q.inFlight = false;
    q.retryAt = t + this.retryMs;
  }

  /** Its read was given up (stopping): it is due as before. */
  abandoned(q: QueuedTunnel): void {
    q.inFlight = false;
  }

  isListed(q: QueuedTunnel): boolean {
    return this.tunnels.get(`${q.accountId}/${q.tunnel.id}`) === q;
  }

  /** Tunnels due per account as of the last next(). */
  dueByAccount(): ReadonlyMap<string, number> {
    return this.dueCounts;
  }

  /** Whether any tunnel is due or in flight. */
  busy(t: number): boolean {
    for (const q of this.tunnels.values()) if (q.inFlight || this.urgencyOf(q, t) !== undefined) return true;
    return false;
  }
}
