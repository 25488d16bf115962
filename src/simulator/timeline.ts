// Makes the simulated fleet move: on every step a scripted, seeded event happens, so a demo shows
// tunnels degrading, going down and recovering (connections dropping, then coming back with new
// ids, some in another colo), a connection blip, a connector going stale after a token rotation,
// a cloudflared auto-update (a new connector id; the old one listed empty, then gone), a read that
// lists a slot's old and new connection together, proxy records erroring, timing out and
// recovering, and WARP connectors failing over.
import {
  ageOutRestarted,
  changeConfiguration,
  createRandom,
  deriveStatus,
  dropConnection,
  dropConnections,
  overlapReconnect,
  refillConnections,
  restartConnector,
  rotateConnector,
  type SimConnection,
  type SimConnector,
  type SimFleet,
  type SimProxyRecord,
  type SimTunnel,
  setProxyRecordStatus,
  setTunnelStatus,
} from './fleet.js';

export interface Timeline {
  /** Applies the next event; returns what happened, for the log. */
  step(now: number): string[];
  /** Records retried through the API progress waiting -> issuing -> valid on later steps. */
  markRetried(recordId: string): void;
  readonly steps: number;
}

const CYCLE = 12;

/** How long a connector a restart left empty stays listed (simulated time). */
export const RESTARTED_LISTED_MS = 120_000;

export function createTimeline(fleet: SimFleet, seed = 1): Timeline {
  const random = createRandom(seed ^ 0x5eed);
  const progressing = new Set<string>();
  let steps = 0;
  let flapping: SimTunnel | undefined;
  let blipped: SimTunnel | undefined;
  let overlapping: { connector: SimConnector; old: SimConnection; tunnel: SimTunnel } | undefined;
  let lagging: { connector: SimConnector; tunnel: SimTunnel } | undefined;

  const liveTunnels = () => fleet.accounts.flatMap((a) => a.tunnels.filter((t) => t.deleted_at === null));
  const records = () => fleet.organizations.flatMap((o) => o.records);
  const choose = <T>(items: T[]): T | undefined => (items.length === 0 ? undefined : items[Math.floor(random() * items.length)]);
  const describe = (t: SimTunnel) => `${t.tun_type} ${t.name}`;
  const recordEvent = (r: SimProxyRecord | undefined, status: SimProxyRecord['status'], now: number, out: string[]) => {
    if (!r) return;
    setProxyRecordStatus(r, status, now);
    out.push(`proxy record ${r.domain} -> ${status}`);
  };

  return {
    get steps() {
      return steps;
    },
    markRetried(recordId) {
      progressing.add(recordId);
    },
    step(now) {
      steps++;
      const out: string[] = [];
      for (const r of records()) {
        if (!progressing.has(r.id)) continue;
        if (r.status === 'waiting') recordEvent(r, 'issuing', now, out);
        else if (r.status === 'issuing') {
          recordEvent(r, 'valid', now, out);
          progressing.delete(r.id);
        } else progressing.delete(r.id);
      }
      const cfd = liveTunnels().filter((t) => t.tun_type === 'cfd_tunnel');
      for (const t of cfd) for (const c of ageOutRestarted(t, now, RESTARTED_LISTED_MS)) out.push(`${describe(t)}: connector ${c.id} left the list`);
      switch (steps % CYCLE) {
        case 1:
          flapping = choose(cfd.filter((t) => t.status === 'healthy'));
          if (flapping) {
            setTunnelStatus(flapping, 'degraded', now, random);
            out.push(`${describe(flapping)} -> degraded`);
          }
          break;
        case 2:
          recordEvent(choose(records().filter((r) => r.status === 'valid')), 'erroring', now, out);
          break;
        case 3:
          if (flapping && flapping.status !== 'inactive') {
            setTunnelStatus(flapping, 'down', now, random);
            out.push(`${describe(flapping)} -> down`);
          }
          break;
        case 4: {
          const stale = cfd.filter((t) => t.status !== 'down' && t.connectors.length > 1 && t.connectors.some((c) => c.conns.length === 0));
          const target = stale.length < 2 ? choose(cfd.filter((t) => t.status === 'healthy' && t !== flapping)) : undefined;
          const old = target ? rotateConnector(target, now, random) : undefined;
          if (target && old) out.push(`${describe(target)}: token rotated, connector ${old.id} left stale`);
          break;
        }
        case 5:
          recordEvent(choose(records().filter((r) => r.status === 'valid')), 'timed_out', now, out);
          break;
        case 6:
          if (flapping && flapping.status === 'down') {
            setTunnelStatus(flapping, 'healthy', now, random);
            out.push(`${describe(flapping)} -> healthy`);
          }
          break;
        case 7: {
          const warp = choose(liveTunnels().filter((t) => t.tun_type === 'warp_connector' && t.connectors.length >= 2));
          if (warp) {
            for (const c of warp.connectors) c.ha_status = c.ha_status === 'active' ? 'passive' : c.ha_status === 'passive' ? 'active' : c.ha_status;
            out.push(`${describe(warp)}: HA failover`);
          }
          break;
        }
        case 8: {
          recordEvent(choose(records().filter((r) => r.status === 'erroring')), 'valid', now, out);
          // A configuration change one connector is slow to take (chosen without the seeded stream).
          const remote = cfd.filter((t) => t.configuration && t.status === 'healthy' && t.connectors.filter((c) => c.conns.length > 0).length >= 2);
          const tunnel = remote[steps % Math.max(1, remote.length)];
          const slow = tunnel?.connectors.filter((c) => c.conns.length > 0).at(-1);
          const version = tunnel && slow ? changeConfiguration(tunnel, now, slow) : undefined;
          if (tunnel && slow && version !== undefined) {
            lagging = { connector: slow, tunnel };
            out.push(`${describe(tunnel)}: configuration version ${version}; connector ${slow.id} still on the previous one`);
          }
          break;
        }
        case 9: {
          // One connection of a healthy tunnel drops; the next step it comes back with a new id.
          blipped = choose(cfd.filter((t) => t.status === 'healthy' && t !== flapping && t.connectors.length > 0));
          const connector = blipped?.connectors[0];
          const [gone] = connector ? dropConnections(connector, 1) : [];
          if (blipped && gone) {
            blipped.status = deriveStatus(blipped);
            out.push(`${describe(blipped)}: connection ${gone.id} at ${gone.colo_name} dropped`);
          }
          break;
        }
        case 10:
          if (lagging?.tunnel.configuration) {
            lagging.connector.config_version = lagging.tunnel.configuration.version;
            out.push(`${describe(lagging.tunnel)}: connector ${lagging.connector.id} took configuration version ${lagging.tunnel.configuration.version}`);
          }
          lagging = undefined;
          if (blipped?.connectors[0] && refillConnections(blipped.connectors[0], now, random) > 0) {
            blipped.status = deriveStatus(blipped);
            out.push(`${describe(blipped)}: reconnected`);
          }
          blipped = undefined;
          break;
        case 11: {
          // The daily auto-update of one cloudflared, and a reconnect another read catches half-way.
          const updated = choose(cfd.filter((t) => t.status === 'healthy' && t !== flapping));
          const old = updated ? restartConnector(updated, now, random, { update: true }) : undefined;
          if (updated && old) out.push(`${describe(updated)}: cloudflared auto-updated, new connector; ${old.id} listed empty`);
          const tunnel = choose(cfd.filter((t) => t.status === 'healthy' && t !== flapping && t !== updated && t.connectors.length > 0));
          const connector = tunnel?.connectors.find((c) => c.conns.length > 0);
          const overlapped = connector ? overlapReconnect(connector, now, random) : undefined;
          if (tunnel && connector && overlapped) {
            overlapping = { connector, old: overlapped, tunnel };
            out.push(`${describe(tunnel)}: connection ${overlapped.id} reconnecting, old and new both listed`);
          }
          break;
        }
        case 0:
          if (overlapping) {
            dropConnection(overlapping.connector, overlapping.old);
            overlapping.tunnel.status = deriveStatus(overlapping.tunnel);
            out.push(`${describe(overlapping.tunnel)}: connection ${overlapping.old.id} closed after its reconnect`);
          }
          overlapping = undefined;
          break;
        default:
          break;
      }
      return out;
    },
  };
}
