// What unhealthy tunnels take down now, from the snapshot: the public hostnames of their ingress
// and the private networks and hostnames routed to them (a route to a tunnel that is no longer
// listed is to a deleted tunnel). For the landing page, at a glance. Pure.
import type { TunnelStatus } from '../domain/types.js';
import { freshData, type Snapshot } from './store.js';

export interface Affected {
  kind: 'hostname' | 'network' | 'private hostname';
  /** The hostname, or the network with its virtual network. */
  what: string;
  tunnelName: string;
  tunnelId: string;
  status: TunnelStatus | 'deleted';
}

const UNREACHABLE: ReadonlySet<string> = new Set(['down', 'inactive']);

/** Hostnames and routes behind a down or inactive tunnel, or a deleted one; by tunnel, public hostnames first. */
export function affectedNow(snapshot: Snapshot, now: number, maxAgeMs: number): Affected[] {
  const out: Affected[] = [];
  for (const [accountId, entry] of snapshot.tunnels) {
    const tunnels = freshData(entry, now, maxAgeMs);
    // Without a fresh list, a route's tunnel cannot be told down from deleted: say nothing.
    if (!tunnels || !entry.last.ok) continue;
    const byId = new Map(tunnels.map((t) => [t.id, t]));
    const configurations = snapshot.tunnel_configurations.get(accountId)?.data;
    for (const t of tunnels) {
      if (!UNREACHABLE.has(t.status)) continue;
      for (const rule of configurations?.get(t.id)?.ingress ?? []) {
        out.push({ kind: 'hostname', what: `${rule.hostname}${rule.path}`, tunnelName: t.name, tunnelId: t.id, status: t.status });
      }
    }
    const behind = (tunnelId: string) => {
      const t = byId.get(tunnelId);
      if (!t) return { tunnelName: '', tunnelId, status: 'deleted' as const };
      return UNREACHABLE.has(t.status) ? { tunnelName: t.name, tunnelId, status: t.status } : undefined;
    };
    for (const r of freshData(snapshot.routes.get(accountId), now, maxAgeMs) ?? []) {
      const tunnel = behind(r.tunnelId);
      if (tunnel) out.push({ kind: 'network', what: `${r.network} (${r.virtualNetwork})`, ...tunnel });
    }
    for (const r of freshData(snapshot.hostname_routes.get(accountId), now, maxAgeMs) ?? []) {
      const tunnel = behind(r.tunnelId);
      if (tunnel) out.push({ kind: 'private hostname', what: r.hostname, ...tunnel });
    }
  }
  const kinds: Affected['kind'][] = ['hostname', 'network', 'private hostname'];
  return out.sort(
    (a, b) =>
      a.tunnelName.localeCompare(b.tunnelName) ||
      a.tunnelId.localeCompare(b.tunnelId) ||
      kinds.indexOf(a.kind) - kinds.indexOf(b.kind) ||
      a.what.localeCompare(b.what),
  );
}
