// Renders the snapshot's series (the domain part of /metrics) to the text format once per snapshot
// change instead of once per scrape. At 10,000 tunnels the exposition is tens of megabytes
// (docs/performance.md), so it is kept compressed, in pieces, and each tunnel's bytes exist once:
// - the tunnels are cut into blocks of consecutive tunnels; per family a block is one deflate
//   segment of its tunnels' lines, and the exposition is, per family, its header, then that
//   family's segment from every block, then the small sources' lines: segments one after the
//   other, sent as one gzip stream (./gzip-stream.ts). Only the compressed text is kept (about a
//   tenth): Prometheus asks for gzip, and a plain scrape inflates it as it goes out (./scrape.ts);
// - a render keeps a block whose tunnels and their data are unchanged as it is, and rebuilds any
//   other from the previous text of its unchanged tunnels (its old segments inflated, then copied)
//   and the new lines of the changed ones, so a connections read costs one block, not the whole
//   exposition; within it, a family none of whose lines changed keeps its segment (a connections
//   read leaves the status lines, the largest family, as they were). Whether they changed is
//   decided by formatting the changed tunnels' previous data again, not by inflating;
// - each tunnel's record is kept and updated in place, so a render allocates nothing for a tunnel
//   that did not change (fewer short-lived objects: a smaller young generation, fewer GCs);
// - the work yields to the event loop between blocks and every few hundred formatted tunnels;
//   deflate and inflate run on libuv's thread pool.
// The result also says when the next series expires (STALE_DATA_MAX_AGE), so the caller renders
// again then even when nothing changes.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Tunnel, TunnelConfiguration, TunnelConnections } from '../domain/types.js';
import { COLLECTORS, type Snapshot, tunnelKey } from '../snapshot/store.js';
import { tunnelView } from '../sources/tunnels/families.js';
import type { SnapshotFamilies } from './families.js';
import { combine, deflateSegment, deflateSegmentSync, EMPTY_SEGMENT, inflateSegment, type Segment } from './gzip-stream.js';
import { formatHeader, formatItem } from './text-format.js';

/** Tunnels per block (what a block weighs: docs/performance.md); 16 segments per 1,000 tunnels. */
const TUNNELS_PER_BLOCK = 1000;
/** Tunnels formatted (not copied) between two yields to the event loop. */
const FORMATTED_PER_SLICE = 250;
/** Tunnels looked at between two yields to the event loop. */
const TUNNELS_PER_SLICE = 2000;

export interface Rendered {
  /** The snapshot version rendered. */
  version: number;
  /** How many collector/scope entries that snapshot had (a new source makes a render incomplete). */
  sources: number;
  /**
   * The domain part of the exposition as deflate segments, to be written one after the other in
   * one gzip stream (./gzip-stream.ts); their text ends with a newline. A segment unchanged since
   * the previous render is the same object.
   */
  segments: Segment[];
  /** The CRC-32 and length of the segments' text, for the gzip trailer. */
  crc: number;
  length: number;
  /** When the first series in it expires (epoch ms; Infinity when none can). */
  nextExpiry: number;
  durationMs: number;
}

/** Consecutive tunnels' lines: per family one deflate segment, and where each tunnel's lines end in its text. */
interface Block {
  tunnels: RenderedTunnel[];
  /** Per family, its lines compressed (empty when it has none). */
  segments: Segment[];
  /** Per family, tunnels.length + 1 offsets: tunnel j's lines are bytes [ends[f][j], ends[f][j + 1]) of segments[f]'s text. */
  ends: Int32Array[];
}

/**
 * One tunnel as last rendered, kept from render to render and updated in place (at 10,000 tunnels
 * a render allocates no per-tunnel objects unless the tunnel changed).
 */
interface RenderedTunnel {
  key: string;
  tunnel: Tunnel;
  conns: TunnelConnections | undefined;
  transitions: number;
  config: TunnelConfiguration | undefined;
  /** What its lines in its block were formatted from (the same objects as above unless changed). */
  written: { tunnel: Tunnel; conns: TunnelConnections | undefined; transitions: number; config: TunnelConfiguration | undefined } | undefined;
  /** Where its lines are: set when its block is built. */
  block: Block | undefined;
  index: number;
  /** Changed since its lines were written: format it again. */
  changed: boolean;
  /** The render that last saw it listed. */
  seen: number;
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
  let count = 0;
  for (const collector of COLLECTORS) count += snapshot[collector].size;
  return count;
}

export interface RendererOptions {
  families: SnapshotFamilies;
  snapshot: () => Snapshot;
  staleDataMaxAgeMs: number;
  now: () => number;
  /** Tests use small blocks to exercise block boundaries with few tunnels. */
  tunnelsPerBlock?: number;
}

/** Renders the snapshot's families whenever called; each call reuses what the previous one made. */
export function createRenderer(options: RendererOptions): () => Promise<Rendered> {
  const renderer = new SnapshotRenderer(options);
  return () => renderer.render();
}

/** A block's tunnels as formatted for it: per tunnel, its lines per family, or undefined when copied as it was. */
type Formatted = ((string | undefined)[] | undefined)[];

class SnapshotRenderer {
  private readonly perTunnel: SnapshotFamilies['tunnels'];
  /** The tunnel families first, then each small source's. */
  private readonly families: { name: string; help: string; type: 'gauge' | 'counter' }[];
  /** Each family's header, after the previous family's last line: families are separated by a blank line. */
  private readonly headers: Segment[];
  private readonly perBlock: number;
  /** Per account, per tunnel id. */
  private readonly known = new Map<string, Map<string, RenderedTunnel>>();
  private blocks: Block[] = [];
  private renders = 0;
  /** The small sources' lines per family, last render, and their segment: kept when equal. */
  private restBefore: ({ lines: string; segment: Segment } | undefined)[] = [];
  /**
   * The text of old blocks' segments, inflated once per render for the blocks being rebuilt from
   * them; a block's entries are dropped once the block being built no longer draws on it.
   */
  private readonly inflated = new Map<Block, Map<number, Promise<Buffer>>>();

  constructor(private readonly options: RendererOptions) {
    this.perTunnel = options.families.tunnels;
    this.families = [...this.perTunnel, ...options.families.rest.flatMap((g) => g.families)];
    this.headers = this.families.map((f, i) => deflateSegmentSync(`${i > 0 ? '\n' : ''}${formatHeader(f)}\n`));
    this.perBlock = options.tunnelsPerBlock ?? TUNNELS_PER_BLOCK;
  }

  async render(): Promise<Rendered> {
    const started = performance.now();
    const snapshot = this.options.snapshot();
    const t = this.options.now();
    const { order, nextExpiry: tunnelsExpiry } = await this.listed(snapshot, t, ++this.renders);
    const nextBlocks: Block[] = [];
    try {
      for (let b = 0; b * this.perBlock < order.length; b++) {
        const slice = order.slice(b * this.perBlock, (b + 1) * this.perBlock);
        const old = this.blocks[b];
        const block = old && unchanged(old, slice) ? old : await this.buildBlock(slice);
        nextBlocks.push(block);
        if (block !== old) await yieldToLoop();
      }
    } finally {
      this.inflated.clear();
    }
    this.blocks = nextBlocks;
    const { lines: restLines, nextExpiry } = await this.rest(snapshot, t);

    const segments: Segment[] = [];
    for (let f = 0; f < this.families.length; f++) {
      segments.push(this.headers[f] as Segment);
      for (const block of this.blocks) if ((block.segments[f] as Segment).length > 0) segments.push(block.segments[f] as Segment);
      const own = restLines[f];
      if (own) segments.push(own.segment);
    }
    const { crc, length } = combine(segments);
    return {
      version: snapshot.version,
      sources: sourceCount(snapshot),
      segments,
      crc,
      length,
      nextExpiry: Math.min(tunnelsExpiry, nextExpiry),
      durationMs: performance.now() - started,
    };
  }

  /**
   * The tunnels to render, in list order, each one's record updated in place (marked changed when
   * anything it is rendered from changed); tunnels no longer listed, or whose list expired, are forgotten.
   */
  private async listed(snapshot: Snapshot, t: number, render: number): Promise<{ order: RenderedTunnel[]; nextExpiry: number }> {
    const maxAge = this.options.staleDataMaxAgeMs;
    let nextExpiry = Infinity;
    const order: RenderedTunnel[] = [];
    for (const [accountId, entry] of snapshot.tunnels) {
      if (!entry.data || entry.lastSuccessAt === undefined || t - entry.lastSuccessAt > maxAge) continue;
      nextExpiry = Math.min(nextExpiry, entry.lastSuccessAt + maxAge + 1);
      const connections = snapshot.connections.get(accountId)?.data;
      const configurations = snapshot.tunnel_configurations.get(accountId)?.data;
      let ofAccount = this.known.get(accountId);
      if (!ofAccount) {
        ofAccount = new Map();
        this.known.set(accountId, ofAccount);
      }
      for (const tunnel of entry.data) {
        // A tunnel's connections stay while its list is fresh, however old (the refresh comes
        // round when the budget lets it; connections_age_seconds says how old). As with a failed
        // poll, only a tunnel whose latest read failed loses them, once its last good read is
        // older than STALE_DATA_MAX_AGE.
        let conns = connections?.get(tunnel.id);
        if (conns?.error !== undefined) {
          if (t - conns.fetchedAt > maxAge) conns = undefined;
          else nextExpiry = Math.min(nextExpiry, conns.fetchedAt + maxAge + 1);
        }
        let config = configurations?.get(tunnel.id);
        if (config?.error !== undefined) {
          if (t - config.fetchedAt > maxAge) config = undefined;
          else nextExpiry = Math.min(nextExpiry, config.fetchedAt + maxAge + 1);
        }
        const r = this.record(ofAccount, accountId, tunnel, { conns, config }, snapshot, render);
        // A tunnel listed twice (the list walk drops repeated ids; this guards the blocks) once.
        if (r === undefined) continue;
        order.push(r);
        if (order.length % TUNNELS_PER_SLICE === 0) await yieldToLoop();
      }
    }
    if (order.length !== [...this.known.values()].reduce((n, m) => n + m.size, 0)) {
      for (const [accountId, ofAccount] of this.known) {
        for (const [id, r] of ofAccount) if (r.seen !== render) ofAccount.delete(id);
        if (ofAccount.size === 0) this.known.delete(accountId);
      }
    }
    return { order, nextExpiry };
  }

  /** The tunnel's record for this render, updated in place; undefined when this render has seen it already. */
  private record(
    ofAccount: Map<string, RenderedTunnel>,
    accountId: string,
    tunnel: Tunnel,
    read: { conns: TunnelConnections | undefined; config: TunnelConfiguration | undefined },
    snapshot: Snapshot,
    render: number,
  ): RenderedTunnel | undefined {
    const { conns, config } = read;
    let r = ofAccount.get(tunnel.id);
    if (r?.seen === render) return undefined;
    if (!r) {
      const key = tunnelKey(accountId, tunnel.id);
      const transitions = snapshot.transitions.get(key) ?? 0;
      r = { key, tunnel, conns, transitions, config, written: undefined, block: undefined, index: 0, changed: true, seen: render };
      ofAccount.set(tunnel.id, r);
      return r;
    }
    const transitions = snapshot.transitions.get(r.key) ?? 0;
    if (r.conns !== conns || r.config !== config || r.transitions !== transitions || !sameTunnel(r.tunnel, tunnel)) r.changed = true;
    r.tunnel = tunnel;
    r.conns = conns;
    r.config = config;
    r.transitions = transitions;
    r.seen = render;
    return r;
  }

  /** The small sources, whole each time: Gateway endpoints, proxy records, poll health. */
  private async rest(snapshot: Snapshot, t: number): Promise<{ lines: ({ lines: string; segment: Segment } | undefined)[]; nextExpiry: number }> {
    const maxAge = this.options.staleDataMaxAgeMs;
    let nextExpiry = Infinity;
    for (const entry of [
      ...snapshot.gateway_proxy_endpoints.values(),
      ...snapshot.proxy_records.values(),
      ...snapshot.routes.values(),
      ...snapshot.hostname_routes.values(),
    ]) {
      if (entry.lastSuccessAt !== undefined && t - entry.lastSuccessAt <= maxAge) nextExpiry = Math.min(nextExpiry, entry.lastSuccessAt + maxAge + 1);
    }
    const restLines: ({ lines: string; segment: Segment } | undefined)[] = this.families.map(() => undefined);
    let f = this.perTunnel.length;
    for (const group of this.options.families.rest) {
      const items = group.items(snapshot, t, maxAge);
      for (const family of group.families) {
        const i = f++;
        const lines = items.map((item) => formatItem(family, item)).filter((l) => l !== undefined);
        if (lines.length === 0) continue;
        const text = `${lines.join('\n')}\n`;
        const before = this.restBefore[i];
        restLines[i] = before?.lines === text ? before : { lines: text, segment: await deflateSegment(text) };
      }
    }
    this.restBefore = restLines;
    return { lines: restLines, nextExpiry };
  }

  /** One tunnel's lines per family (undefined for a family it has none in, and for every small source's). */
  private linesOf(r: {
    tunnel: Tunnel;
    conns: TunnelConnections | undefined;
    transitions: number;
    config: TunnelConfiguration | undefined;
  }): (string | undefined)[] {
    const view = tunnelView(r.tunnel, r.conns, r.transitions, r.config);
    return this.families.map((_, f) => (f < this.perTunnel.length ? formatItem(this.perTunnel[f] as (typeof this.perTunnel)[number], view) : undefined));
  }

  private textOf(old: Block, f: number): Promise<Buffer> {
    let ofBlock = this.inflated.get(old);
    if (!ofBlock) {
      ofBlock = new Map();
      this.inflated.set(old, ofBlock);
    }
    let text = ofBlock.get(f);
    if (!text) {
      text = inflateSegment(old.segments[f] as Segment);
      ofBlock.set(f, text);
    }
    return text;
  }

  private async buildBlock(tunnels: RenderedTunnel[]): Promise<Block> {
    const formatted = await this.formatChanged(tunnels);
    // The same tunnels in the same order as one earlier block: a family whose changed tunnels'
    // lines come out as their previous data's did keeps that block's segment (no inflate, no new
    // deflate: a connections read leaves the status lines alone).
    const same = sameTunnelsAs(tunnels);
    const before = same ? tunnels.map((r, j) => (formatted[j] === undefined || !r.written ? undefined : this.linesOf(r.written))) : [];
    const keep = this.families.map((_, f) => same !== undefined && tunnels.every((_, j) => formatted[j] === undefined || before[j]?.[f] === formatted[j]?.[f]));
    // The old blocks the unchanged tunnels' lines are copied from: only theirs stay inflated.
    const sources = new Set(tunnels.filter((_, j) => formatted[j] === undefined).map((r) => r.block as Block));
    for (const old of this.inflated.keys()) if (!sources.has(old)) this.inflated.delete(old);
    // Inflate what will be copied from, all at once on the thread pool (awaited family by family below).
    for (let f = 0; f < this.families.length; f++) if (!keep[f]) for (const old of sources) this.textOf(old, f).catch(() => undefined);

    const segments: Promise<Segment>[] = [];
    const ends: Int32Array[] = [];
    for (let f = 0; f < this.families.length; f++) {
      if (keep[f]) {
        segments.push(Promise.resolve((same as Block).segments[f] as Segment));
        ends.push((same as Block).ends[f] as Int32Array);
        continue;
      }
      const at = lineEnds(tunnels, formatted, f);
      ends.push(at);
      if (at[tunnels.length] === 0) {
        segments.push(Promise.resolve(EMPTY_SEGMENT));
        continue;
      }
      // Deflated on libuv's thread pool while the next family is put together.
      segments.push(deflateSegment(await this.familyText(tunnels, formatted, f, at, sources)));
    }
    const block: Block = { tunnels, segments: await Promise.all(segments), ends };
    // Only now: the copies above read each tunnel's previous place.
    tunnels.forEach((r, j) => {
      r.block = block;
      r.index = j;
      r.changed = false;
      // A tunnel copied as it was still has the lines of what it was written from.
      if (formatted[j] !== undefined) r.written = { tunnel: r.tunnel, conns: r.conns, transitions: r.transitions, config: r.config };
    });
    return block;
  }

  /** The lines of the changed tunnels (and of those not yet in a block), yielding now and then. */
  private async formatChanged(tunnels: RenderedTunnel[]): Promise<Formatted> {
    const formatted: Formatted = [];
    let count = 0;
    for (const r of tunnels) {
      if (!r.changed && r.block) {
        formatted.push(undefined);
        continue;
      }
      formatted.push(this.linesOf(r));
      if (++count % FORMATTED_PER_SLICE === 0) await yieldToLoop();
    }
    return formatted;
  }

  /** Family f's text for the block: unchanged tunnels' lines copied from their old block, the others' new lines. */
  private async familyText(tunnels: RenderedTunnel[], formatted: Formatted, f: number, at: Int32Array, sources: Set<Block>): Promise<Buffer> {
    const texts = new Map<Block, Buffer>();
    for (const old of sources) if ((old.ends[f] as Int32Array)[old.tunnels.length] !== 0) texts.set(old, await this.textOf(old, f));
    const text = Buffer.allocUnsafeSlow(at[tunnels.length] as number);
    for (let j = 0; j < tunnels.length; j++) {
      const r = tunnels[j] as RenderedTunnel;
      const start = at[j] as number;
      if (formatted[j] === undefined) {
        // Unchanged: its lines are where the last render put them.
        const old = r.block as Block;
        const from = old.ends[f] as Int32Array;
        if ((from[r.index + 1] as number) > (from[r.index] as number)) (texts.get(old) as Buffer).copy(text, start, from[r.index], from[r.index + 1]);
        continue;
      }
      const lines = formatted[j]?.[f];
      if (lines === undefined) continue;
      text.write(lines, start);
      text[(at[j + 1] as number) - 1] = 0x0a;
    }
    return text;
  }
}

/** Where each tunnel's lines of family f end in the block's text (tunnels.length + 1 offsets). */
function lineEnds(tunnels: RenderedTunnel[], formatted: Formatted, f: number): Int32Array {
  const at = new Int32Array(tunnels.length + 1);
  for (let j = 0; j < tunnels.length; j++) {
    const r = tunnels[j] as RenderedTunnel;
    const lines = formatted[j]?.[f];
    let length = 0;
    if (formatted[j] === undefined) {
      const from = (r.block as Block).ends[f] as Int32Array;
      length = (from[r.index + 1] as number) - (from[r.index] as number);
    } else if (lines !== undefined) length = Buffer.byteLength(lines) + 1;
    at[j + 1] = (at[j] as number) + length;
  }
  return at;
}

/** The block that last held exactly these tunnels, in this order (changed or not), if one did. */
function sameTunnelsAs(tunnels: RenderedTunnel[]): Block | undefined {
  const old = tunnels[0]?.block;
  return old !== undefined && old.tunnels.length === tunnels.length && tunnels.every((r, j) => r.block === old && r.index === j) ? old : undefined;
}

/** The previous block at the same place holds exactly these tunnels, unchanged, in this order. */
function unchanged(old: Block | undefined, tunnels: RenderedTunnel[]): boolean {
  return old !== undefined && sameTunnelsAs(tunnels) === old && tunnels.every((r) => !r.changed);
}
