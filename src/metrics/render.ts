// Renders the snapshot's series (the domain part of /metrics) to the text format once per snapshot
// change instead of once per scrape. At 10,000 tunnels the exposition
// is tens of megabytes, so:
// - each tunnel's lines are kept and reused while the tunnel, its connections data (the store
//   replaces the object only when it is read again) and their freshness are unchanged;
// - the work yields to the event loop every few hundred tunnels, so scrapes and pollers are never
//   held up for long.
// The caller gzips renders (./registry.ts).
// The result also says when the next series expires (STALE_DATA_MAX_AGE), so the caller renders
// again then even when nothing changes.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Tunnel, TunnelConnections } from '../domain/types.js';
import { type Snapshot, tunnelKey } from '../state/store.js';
import { collectCollectorMetrics } from './collectors.js';
import { formatHeader, formatSamples } from './exposition.js';
import { collectGatewayMetrics } from './gateway.js';
import { collectProxyRecordMetrics } from './proxy-records.js';
import type { Families } from './samples.js';
import { tunnelSamples } from './tunnels.js';

const TUNNELS_PER_SLICE = 500;

export interface FamilyDefinition {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
}

export interface Rendered {
  /** The snapshot version rendered. */
  version: number;
  /** How many collector/scope entries that snapshot had (a new source makes a render incomplete). */
  sources: number;
  text: Buffer;
  /** When the first series in it expires (epoch ms; Infinity when none can). */
  nextExpiry: number;
  durationMs: number;
}

interface CachedTunnel {
  tunnel: Tunnel;
  conns: TunnelConnections | undefined;
  transitions: number;
  /** Per family (in definition order), this tunnel's lines, or undefined. */
  lines: (string | undefined)[];
}

const sameTunnel = (a: Tunnel, b: Tunnel) =>
  a === b ||
  (a.name === b.name &&
    a.status === b.status &&
    a.type === b.type &&
    a.configSrc === b.configSrc &&
    a.createdAt === b.createdAt &&
    a.connsActiveAt === b.connsActiveAt &&
    a.connsInactiveAt === b.connsInactiveAt);

/** Collector/scope entries in a snapshot: a render with fewer lacks a source that has arrived since. */
export function sourceCount(snapshot: Snapshot): number {
  return snapshot.tunnels.size + snapshot.connections.size + snapshot.gateway_proxy_endpoints.size + snapshot.proxy_records.size;
}

export function createRenderer(options: { families: FamilyDefinition[]; snapshot: () => Snapshot; staleDataMaxAgeMs: number; now: () => number }) {
  const { families, staleDataMaxAgeMs: maxAge } = options;
  const headers = families.map(formatHeader);
  const byName = new Map(families.map((f, i) => [f.name, i]));
  let cache = new Map<string, CachedTunnel>();

  const linesOf = (samples: Families): (string | undefined)[] =>
    families.map((f) => {
      const s = samples.get(f.name);
      return s && s.length > 0 ? formatSamples(f.name, s) : undefined;
    });

  return async function render(): Promise<Rendered> {
    const started = performance.now();
    const snapshot = options.snapshot();
    const t = options.now();
    const parts: string[][] = families.map(() => []);
    const nextCache = new Map<string, CachedTunnel>();
    let nextExpiry = Infinity;
    let count = 0;

    for (const [accountId, entry] of snapshot.tunnels) {
      if (!entry.data || entry.lastSuccessAt === undefined || t - entry.lastSuccessAt > maxAge) continue;
      nextExpiry = Math.min(nextExpiry, entry.lastSuccessAt + maxAge + 1);
      const connections = snapshot.connections.get(accountId)?.data;
      for (const tunnel of entry.data) {
        const key = tunnelKey(accountId, tunnel.id);
        let conns = connections?.get(tunnel.id);
        if (conns && t - conns.fetchedAt > maxAge) conns = undefined;
        if (conns) nextExpiry = Math.min(nextExpiry, conns.fetchedAt + maxAge + 1);
        const transitions = snapshot.transitions.get(key) ?? 0;
        const previous = cache.get(key);
        let lines: (string | undefined)[];
        if (previous && previous.conns === conns && previous.transitions === transitions && sameTunnel(previous.tunnel, tunnel)) {
          lines = previous.lines;
        } else {
          const samples: Families = new Map();
          tunnelSamples(tunnel, conns, transitions, samples);
          lines = linesOf(samples);
        }
        nextCache.set(key, { tunnel, conns, transitions, lines });
        for (let i = 0; i < lines.length; i++) if (lines[i] !== undefined) (parts[i] as string[]).push(lines[i] as string);
        if (++count % TUNNELS_PER_SLICE === 0) await yieldToLoop();
      }
    }
    cache = nextCache;

    // The small sources, whole each time: Gateway endpoints, proxy records, poll health.
    const rest: Families = new Map();
    collectGatewayMetrics(snapshot, t, maxAge, rest);
    collectProxyRecordMetrics(snapshot, t, maxAge, rest);
    collectCollectorMetrics(snapshot, rest);
    for (const entry of [...snapshot.gateway_proxy_endpoints.values(), ...snapshot.proxy_records.values()]) {
      if (entry.lastSuccessAt !== undefined && t - entry.lastSuccessAt <= maxAge) nextExpiry = Math.min(nextExpiry, entry.lastSuccessAt + maxAge + 1);
    }
    for (const [name, samples] of rest) {
      const i = byName.get(name);
      if (i !== undefined && samples.length > 0) (parts[i] as string[]).push(formatSamples(name, samples));
    }

    const chunks: Buffer[] = [];
    for (let i = 0; i < families.length; i++) {
      const body = (parts[i] as string[]).join('\n');
      chunks.push(Buffer.from(`${i > 0 ? '\n\n' : ''}${headers[i]}${body ? `\n${body}` : ''}`));
      if (body.length > 1 << 20) await yieldToLoop();
    }
    const text = Buffer.concat(chunks);
    return { version: snapshot.version, sources: sourceCount(snapshot), text, nextExpiry, durationMs: performance.now() - started };
  };
}
