// Renders the snapshot's series (the domain part of /metrics) to the text format once per snapshot
// change instead of once per scrape. At 10,000 tunnels the exposition is tens of megabytes, so it
// is kept as pieces and each tunnel's bytes exist once:
// - the tunnels are cut into blocks of consecutive tunnels; per family a block is one buffer
//   holding its tunnels' lines, and the exposition is, per family, its header, then that family's
//   buffer from every block, then the small sources' lines;
// - a render keeps a block whose tunnels and their data are unchanged as it is, and rebuilds any
//   other from the previous bytes of its unchanged tunnels (a copy) and the new lines of the
//   changed ones, so a connections read costs one block, not the whole exposition;
// - the work yields to the event loop between blocks and every few hundred formatted tunnels.
// The caller serves the pieces one after the other and gzips each piece once (./registry.ts).
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

/** Tunnels per block: about 2 MB of text, 16 small buffers per 1,000 tunnels. */
const TUNNELS_PER_BLOCK = 1000;
/** Tunnels formatted (not copied) between two yields to the event loop. */
const FORMATTED_PER_SLICE = 250;
/** Tunnels looked at between two yields to the event loop. */
const TUNNELS_PER_SLICE = 2000;

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
  /**
   * The domain part of the exposition, to be written one piece after the other; it ends with a
   * newline. A piece unchanged since the previous render is the same Buffer object.
   */
  chunks: Buffer[];
  /** When the first series in it expires (epoch ms; Infinity when none can). */
  nextExpiry: number;
  durationMs: number;
}

/** Consecutive tunnels' lines: per family one buffer, and where each tunnel's lines end in it. */
interface Block {
  keys: string[];
  pieces: Buffer[];
  /** Per family, keys.length + 1 offsets: tunnel j's lines are pieces[f][ends[f][j], ends[f][j + 1]). */
  ends: Int32Array[];
}

interface CachedTunnel {
  tunnel: Tunnel;
  conns: TunnelConnections | undefined;
  transitions: number;
  block: Block;
  index: number;
}

interface Item {
  key: string;
  tunnel: Tunnel;
  conns: TunnelConnections | undefined;
  transitions: number;
  /** Its previous render, when nothing it is rendered from changed since. */
  same: CachedTunnel | undefined;
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

export function createRenderer(options: {
  families: FamilyDefinition[];
  snapshot: () => Snapshot;
  staleDataMaxAgeMs: number;
  now: () => number;
  /** Tests use small blocks to exercise block boundaries with few tunnels. */
  tunnelsPerBlock?: number;
}) {
  const { families, staleDataMaxAgeMs: maxAge } = options;
  const perBlock = options.tunnelsPerBlock ?? TUNNELS_PER_BLOCK;
  // Each family's header, after the previous family's last line: the families are separated by a
  // blank line, and every line ends with a newline.
  const headers = families.map((f, i) => Buffer.from(`${i > 0 ? '\n' : ''}${formatHeader(f)}\n`));
  const byName = new Map(families.map((f, i) => [f.name, i]));
  let cache = new Map<string, CachedTunnel>();
  let blocks: Block[] = [];
  /** The small sources' lines per family, last render: kept when equal, so their gzip is too. */
  let restBefore: (Buffer | undefined)[] = [];

  const linesOf = (samples: Families): (string | undefined)[] =>
    families.map((f) => {
      const s = samples.get(f.name);
      return s && s.length > 0 ? formatSamples(f.name, s) : undefined;
    });

  async function buildBlock(items: Item[]): Promise<Block> {
    const formatted: ((string | undefined)[] | undefined)[] = [];
    let count = 0;
    for (const item of items) {
      if (item.same) {
        formatted.push(undefined);
        continue;
      }
      const samples: Families = new Map();
      tunnelSamples(item.tunnel, item.conns, item.transitions, samples);
      formatted.push(linesOf(samples));
      if (++count % FORMATTED_PER_SLICE === 0) await yieldToLoop();
    }
    const pieces: Buffer[] = [];
    const ends: Int32Array[] = [];
    for (let f = 0; f < families.length; f++) {
      const at = new Int32Array(items.length + 1);
      for (let j = 0; j < items.length; j++) {
        const same = items[j]?.same;
        const lines = formatted[j]?.[f];
        const from = same?.block.ends[f] as Int32Array;
        const length = same ? (from[same.index + 1] as number) - (from[same.index] as number) : lines === undefined ? 0 : Buffer.byteLength(lines) + 1;
        at[j + 1] = (at[j] as number) + length;
      }
      const piece = Buffer.allocUnsafeSlow(at[items.length] as number);
      for (let j = 0; j < items.length; j++) {
        const same = items[j]?.same;
        const start = at[j] as number;
        if (same) {
          const from = same.block.ends[f] as Int32Array;
          (same.block.pieces[f] as Buffer).copy(piece, start, from[same.index], from[same.index + 1]);
          continue;
        }
        const lines = formatted[j]?.[f];
        if (lines === undefined) continue;
        piece.write(lines, start);
        piece[(at[j + 1] as number) - 1] = 0x0a;
      }
      pieces.push(piece);
      ends.push(at);
    }
    return { keys: items.map((i) => i.key), pieces, ends };
  }

  /** The previous block at the same place holds exactly these tunnels, unchanged, in this order. */
  const unchanged = (old: Block | undefined, items: Item[]) =>
    old !== undefined && old.keys.length === items.length && items.every((item, j) => item.same?.block === old && item.same.index === j);

  return async function render(): Promise<Rendered> {
    const started = performance.now();
    const snapshot = options.snapshot();
    const t = options.now();
    let nextExpiry = Infinity;

    const items: Item[] = [];
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
        const same = previous && previous.conns === conns && previous.transitions === transitions && sameTunnel(previous.tunnel, tunnel) ? previous : undefined;
        items.push({ key, tunnel, conns, transitions, same });
        if (items.length % TUNNELS_PER_SLICE === 0) await yieldToLoop();
      }
    }

    const nextBlocks: Block[] = [];
    const nextCache = new Map<string, CachedTunnel>();
    for (let b = 0; b * perBlock < items.length; b++) {
      const slice = items.slice(b * perBlock, (b + 1) * perBlock);
      const old = blocks[b];
      const block = old && unchanged(old, slice) ? old : await buildBlock(slice);
      nextBlocks.push(block);
      slice.forEach((item, index) => {
        nextCache.set(item.key, { tunnel: item.tunnel, conns: item.conns, transitions: item.transitions, block, index });
      });
      if (block !== old) await yieldToLoop();
    }
    blocks = nextBlocks;
    cache = nextCache;

    // The small sources, whole each time: Gateway endpoints, proxy records, poll health.
    const rest: Families = new Map();
    collectGatewayMetrics(snapshot, t, maxAge, rest);
    collectProxyRecordMetrics(snapshot, t, maxAge, rest);
    collectCollectorMetrics(snapshot, rest);
    for (const entry of [...snapshot.gateway_proxy_endpoints.values(), ...snapshot.proxy_records.values()]) {
      if (entry.lastSuccessAt !== undefined && t - entry.lastSuccessAt <= maxAge) nextExpiry = Math.min(nextExpiry, entry.lastSuccessAt + maxAge + 1);
    }
    const restLines: (Buffer | undefined)[] = families.map(() => undefined);
    for (const [name, samples] of rest) {
      const i = byName.get(name);
      if (i === undefined || samples.length === 0) continue;
      const lines = Buffer.from(`${formatSamples(name, samples)}\n`);
      restLines[i] = restBefore[i]?.equals(lines) ? restBefore[i] : lines;
    }
    restBefore = restLines;

    const chunks: Buffer[] = [];
    for (let f = 0; f < families.length; f++) {
      chunks.push(headers[f] as Buffer);
      for (const block of blocks) if ((block.pieces[f] as Buffer).length > 0) chunks.push(block.pieces[f] as Buffer);
      const own = restLines[f];
      if (own) chunks.push(own);
    }
    return { version: snapshot.version, sources: sourceCount(snapshot), chunks, nextExpiry, durationMs: performance.now() - started };
  };
}
