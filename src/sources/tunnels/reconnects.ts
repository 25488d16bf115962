// Pending reconnects, missing connections, reconnects and connector replacements, derived from
// successive reads of a tunnel's connectors. Cloudflare removed `is_pending_reconnect` (the
// official SDK: "will now always report false"), so the exporter works them out from what the API
// still reports. Pure: the previous result and the new answer in, the new result out.
//
// What cloudflared does (cloudflare/cloudflared, read at d1df798 of August 2026):
// - each process start makes a new connector id (client/config.go: uuid.NewRandom in NewConfig),
//   so a restart, an auto-update (cmd/cloudflared/updater/update.go, AutoUpdater.Run restarts the
//   process) or a rescheduled pod is a new connector; the old one can stay listed with no
//   connections until it ages out or is cleaned up;
// - a connector holds --ha-connections connections (4 by default), fewer if the edge offered
//   fewer addresses at start (supervisor/supervisor.go, "You requested %d HA connections but I
//   can give you at most %d"); a slot that drops retries forever, and each reconnect is a new
//   connection id, possibly in another colo.
// So, per connector:
// - it should hold `expected` connections: CLOUDFLARED_HA_CONNECTIONS for a cfd_tunnel connector
//   (from its first read), else learned: the most it held in its last LEARN_WINDOW reads, not
//   counting an overlap (below), so the count comes back down;
// - a connection seen at the last read and gone now is pending reconnect in the colo it was in,
//   while the connector holds fewer than expected; a new connection id that arrives while one is
//   pending fills it: one reconnect, counted in the colo of the connection it replaced;
// - an overlap: a read may list a slot's new connection before its old one is gone. A new id that
//   arrives with no gap to fill and more connections held than expected is an early arrival; when
//   a connection goes while one is waiting, they pair up: one reconnect, nothing pending. An early
//   arrival still unpaired after EARLY_READS more reads is a genuine extra connection;
// - replaced: a connector that holds no connection while another connector of the tunnel with a
//   later run_at holds some has been taken over (restart, update, reschedule). It counts no
//   pending and no missing; it stays listed as what it is, a stale connector (and when its
//   successor was first seen after it, the blast-radius guard knows the restart explains it). Each takeover seen
//   (a connector newly replaced, or one that left the list while holding connections as a new one
//   appeared holding some) counts one replacement.
// A connector that disappears counts nothing more: it is gone, not reconnecting.
import type { Connector, GoneConnection, ObservedConnector, TunnelConnections, TunnelType } from '../../domain/types.js';
import { activeConnections, isActive } from '../../domain/types.js';

/** Reads over which a learned count is the most held (WARP connectors, CLOUDFLARED_HA_CONNECTIONS=0). */
const LEARN_WINDOW = 10;
/** Reads an early arrival waits for the drop it overlaps before it counts as an extra connection. */
const EARLY_READS = 2;

export interface DeriveOptions {
  type: TunnelType;
  /** CLOUDFLARED_HA_CONNECTIONS: what a cfd_tunnel connector should hold; 0 learns it. */
  haConnections: number;
  /** When this answer was read. */
  at: number;
}

export interface DerivedConnectors {
  connectors: Connector[];
  reconnects: ReadonlyMap<string, number>;
  replacements: number;
}

/** Takes out the pending one in `colo`, else the oldest; undefined when none waits. */
function takeMatch<T extends { colo: string }>(list: T[], colo: string): T | undefined {
  if (list.length === 0) return undefined;
  const same = list.findIndex((g) => g.colo === colo);
  return list.splice(Math.max(same, 0), 1)[0];
}

/** Folds one connections answer into what the previous read of the same tunnel left. */
export function deriveConnectors(previous: TunnelConnections | undefined, observed: readonly ObservedConnector[], options: DeriveOptions): DerivedConnectors {
  const before = new Map((previous?.connectors ?? []).map((c) => [c.id, c]));
  const fixed = options.type === 'cfd_tunnel' && options.haConnections > 0 ? options.haConnections : undefined;
  let reconnects: Map<string, number> | undefined;
  const countReconnect = (colo: string) => {
    reconnects ??= new Map(previous?.reconnects);
    reconnects.set(colo, (reconnects.get(colo) ?? 0) + 1);
  };

  const followed = observed.map((c): Connector => {
    const held = c.connections.filter(isActive);
    const last = before.get(c.id);
    // A new connector (or, never seen from cloudflared, the same id with a new run_at): no history.
    if (!last || last.runAt !== c.runAt) {
      const firstSeenAt = last?.firstSeenAt ?? options.at;
      return { ...c, expected: fixed ?? held.length, gone: [], early: [], counts: [held.length], replaced: false, successorSeen: false, firstSeenAt };
    }
    const heldIds = new Set(held.map((x) => x.id));
    const lastHeld = last.connections.filter(isActive);
    const lastIds = new Set(lastHeld.map((x) => x.id));
    // A connection seen again under the same id was never replaced: not pending, not a reconnect.
    const gone: GoneConnection[] = last.gone.filter((g) => !heldIds.has(g.id));
    const early = last.early.filter((e) => heldIds.has(e.id)).map((e) => ({ ...e, reads: e.reads + 1 }));
    for (const x of lastHeld) {
      if (heldIds.has(x.id)) continue;
      // Its replacement came first (an overlap): a reconnect, nothing pending.
      if (takeMatch(early, x.colo)) countReconnect(x.colo);
      else gone.push({ id: x.id, colo: x.colo });
    }
    for (const x of held) {
      if (lastIds.has(x.id)) continue;
      const filled = takeMatch(gone, x.colo);
      if (filled) countReconnect(filled.colo);
      else if (held.length > last.expected) early.push({ id: x.id, colo: x.colo, reads: 0 });
    }
    const waiting = early.filter((e) => e.reads < EARLY_READS);
    const counts = [...last.counts, held.length - waiting.length].slice(-LEARN_WINDOW);
    const expected = fixed ?? Math.max(...counts);
    const missing = Math.max(0, expected - held.length);
    // Never more pending than missing: keep the most recent drops.
    const kept = gone.length > missing ? gone.slice(gone.length - missing) : gone;
    return { ...c, expected, gone: kept, early: waiting, counts, replaced: false, successorSeen: false, firstSeenAt: last.firstSeenAt };
  });

  // Replaced: empty, with a later-started sibling holding connections; the successor seen when it
  // first appeared after this one (a restart watched, not inferred from a first look).
  const holding = followed.filter((c) => activeConnections(c) > 0);
  const connectors = followed.map((c) => {
    if (activeConnections(c) > 0 || c.runAt === undefined) return c;
    const successors = holding.filter((o) => o.runAt !== undefined && o.runAt > (c.runAt as number));
    if (successors.length === 0) return c;
    return { ...c, gone: [], early: [], replaced: true, successorSeen: successors.some((o) => o.firstSeenAt > c.firstSeenAt) };
  });
  let replacements = previous?.replacements ?? 0;
  if (previous) {
    const now = new Set(connectors.map((c) => c.id));
    const newlyReplaced = connectors.filter((c) => c.replaced && before.has(c.id) && !before.get(c.id)?.replaced).length;
    const leftHolding = [...before.values()].filter((c) => !now.has(c.id) && !c.replaced && activeConnections(c) > 0).length;
    const arrivedHolding = connectors.filter((c) => !before.has(c.id) && activeConnections(c) > 0).length;
    replacements += newlyReplaced + Math.min(leftHolding, arrivedHolding);
  }
  return { connectors, reconnects: reconnects ?? previous?.reconnects ?? new Map(), replacements };
}
