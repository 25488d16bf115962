// Which tunnels' configurations to read now, from the snapshot alone. Pure: no I/O, no clock of
// its own. A configuration is read once when its tunnel is first listed, again when one of the
// tunnel's connectors reports a configuration version newer than the one read (cloudflared only
// ever moves to a newer version: orchestration/orchestrator.go UpdateConfig), and on the slow
// schedule (the sweep). A connector on an older version is drift, not a reason to read again.
import { hasConfiguration, type Tunnel } from '../../domain/types.js';
import { freshData, type Snapshot } from '../../snapshot/store.js';

/** A read that failed is not asked for again from the snapshot before this long (the sweep still asks). */
const FAILED_READ_BACKOFF_MS = 300_000;

/** What the reader remembers per tunnel between two looks at the snapshot. */
export interface ReadMemory {
  /** The newest connector-reported version a read was asked for. */
  askedFor: Map<string, number>;
  /** When a tunnel's last read failed. */
  failedAt: Map<string, number>;
}

/** The newest version a connector of the tunnel reports, if any reports one. */
function reportedVersion(snapshot: Snapshot, accountId: string, tunnelId: string): number | undefined {
  let newest: number | undefined;
  for (const c of snapshot.connections.get(accountId)?.data?.get(tunnelId)?.connectors ?? []) {
    if (c.configVersion !== undefined && (newest === undefined || c.configVersion > newest)) newest = c.configVersion;
  }
  return newest;
}

/**
 * The account's tunnels whose configuration should be read now (not counting the sweep): `changed`,
 * a connector reports a newer version than the one read and no read has been asked for it yet;
 * `unread`, never read (and not failed recently). Marks what it asks for in `memory`.
 */
export function configurationsDue(
  snapshot: Snapshot,
  accountId: string,
  memory: ReadMemory,
  now: number,
  maxAgeMs: number,
): { changed: Tunnel[]; unread: Tunnel[] } {
  const tunnels = freshData(snapshot.tunnels.get(accountId), now, maxAgeMs) ?? [];
  const read = snapshot.tunnel_configurations.get(accountId)?.data;
  const changed: Tunnel[] = [];
  const unread: Tunnel[] = [];
  for (const tunnel of tunnels) {
    if (!hasConfiguration(tunnel)) continue;
    const known = read?.get(tunnel.id);
    if (!known) {
      const failed = memory.failedAt.get(tunnel.id);
      if (failed === undefined || now - failed >= FAILED_READ_BACKOFF_MS) unread.push(tunnel);
      continue;
    }
    if (tunnel.type !== 'cfd_tunnel') continue;
    const reported = reportedVersion(snapshot, accountId, tunnel.id);
    if (reported === undefined || reported <= known.version || reported <= (memory.askedFor.get(tunnel.id) ?? -Infinity)) continue;
    memory.askedFor.set(tunnel.id, reported);
    changed.push(tunnel);
  }
  return { changed, unread };
}
