// Pending reconnects, derived from successive polls of a tunnel's connectors. Cloudflare removed
// `is_pending_reconnect` (the official SDK: "will now always report false"), so the exporter
// works them out from what the API still reports. Pure: the previous result and the new answer in,
// the new result out.
//
// cloudflared holds a fixed number of HA connections (4 by default, `--ha-connections`), and a
// restart gives the connector a new `run_at`. So, per connector:
// - its complete count is the most connections seen since its `run_at` (reset on a new `run_at`);
// - a connection that was there at the last poll and is gone now is pending reconnect, in the colo
//   it was in, until the connector is back to its complete count;
// - a new connection id that arrives while connections are pending fills one gap: one reconnect,
//   counted in the colo of the connection it replaced (the same colo first, if one is pending there).
// A connector that disappears from the list counts nothing: it is gone, not reconnecting.
import type { Connector, GoneConnection, ObservedConnector, TunnelConnections } from '../domain/types.js';
import { activeConnections } from '../domain/types.js';

export interface DerivedConnectors {
  connectors: Connector[];
  reconnects: ReadonlyMap<string, number>;
}

/** Folds one connections answer into what the previous poll of the same tunnel left. */
export function deriveConnectors(previous: TunnelConnections | undefined, observed: readonly ObservedConnector[]): DerivedConnectors {
  const before = new Map((previous?.connectors ?? []).map((c) => [c.id, c]));
  let reconnects: Map<string, number> | undefined;
  const countReconnect = (colo: string) => {
    reconnects ??= new Map(previous?.reconnects);
    reconnects.set(colo, (reconnects.get(colo) ?? 0) + 1);
  };

  const connectors = observed.map((c): Connector => {
    const held = c.connections.filter((x) => !x.flaggedPending);
    const last = before.get(c.id);
    // A new connector, or the same one restarted: nothing to compare with.
    if (!last || last.runAt !== c.runAt) return { ...c, complete: held.length, gone: [] };

    const heldIds = new Set(held.map((x) => x.id));
    const lastHeld = last.connections.filter((x) => !x.flaggedPending);
    const lastIds = new Set(lastHeld.map((x) => x.id));
    // A connection seen again under the same id was never replaced: not pending, not a reconnect.
    const gone: GoneConnection[] = last.gone.filter((g) => !heldIds.has(g.id));
    for (const x of lastHeld) if (!heldIds.has(x.id)) gone.push({ id: x.id, colo: x.colo });
    for (const x of held) {
      if (lastIds.has(x.id) || gone.length === 0) continue;
      const sameColo = gone.findIndex((g) => g.colo === x.colo);
      const [filled] = gone.splice(Math.max(sameColo, 0), 1);
      if (filled) countReconnect(filled.colo);
    }
    const complete = Math.max(last.complete, held.length);
    const missing = complete - activeConnections(c);
    // Never more pending than missing: keep the most recent drops.
    return { ...c, complete, gone: gone.length > missing ? gone.slice(gone.length - missing) : gone };
  });
  return { connectors, reconnects: reconnects ?? previous?.reconnects ?? new Map() };
}
