// The domain part of /metrics is rebuilt block by block from the previous render's bytes: whatever
// happens to a fleet between renders (tunnels added, removed, reordered, changing status, new
// connections data, data expiring), the result must be byte for byte what a renderer with no
// history produces for the same snapshot.
import { constants, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Tunnel, TunnelConnections } from '../../src/domain/types.js';
import { snapshotFamilies } from '../../src/metrics/families.js';
import type { Segment } from '../../src/metrics/gzip-stream.js';
import { createRenderer } from '../../src/metrics/snapshot-exposition.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { derivedConnector, tunnelRead } from '../helpers/connectors.js';

const MAX_AGE = 600_000;
/** The text of a render's segments (one deflate stream, as /metrics sends it gzipped). */
const textOf = (segments: Segment[]) =>
  inflateRawSync(Buffer.concat(segments.map((s) => s.deflated)), { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
const STATUSES = ['healthy', 'degraded', 'down', 'inactive'] as const;

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('incremental render', () => {
  it('equals a render from scratch after every kind of change, across block boundaries', async () => {
    const rand = random(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
    let clock = 1_800_000_000_000;
    const store = createSnapshotStore();
    const families = snapshotFamilies();
    const options = { families, snapshot: store.snapshot, staleDataMaxAgeMs: MAX_AGE, now: () => clock, tunnelsPerBlock: 3 };
    const incremental = createRenderer(options);
    const text = async (render: ReturnType<typeof createRenderer>) => textOf((await render()).segments);

    let next = 0;
    const tunnel = (): Tunnel => {
      next++;
      return {
        accountId: 'acc',
        id: `t${next}`,
        name: `tunnel-${next}`,
        type: next % 5 === 0 ? 'warp_connector' : 'cfd_tunnel',
        status: pick(STATUSES),
        configSrc: 'cloudflare',
        createdAt: clock - next * 1000,
      };
    };
    const read = (t: Tunnel): TunnelConnections => {
      const n = Math.floor(rand() * 3);
      const connectors = Array.from({ length: n }, (_, i) =>
        derivedConnector(
          `${t.id}-c${i}`,
          Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, k) => ({
            id: `${t.id}-c${i}-${k}`,
            colo: pick(['ams01', 'fra03', 'lhr01']),
            flaggedPending: false,
          })),
          { version: pick(['2025.1.0', '2025.2.1']), originIp: '192.0.2.1', runAt: clock - 60_000, expected: 4, counts: [4] },
        ),
      );
      return tunnelRead(t.id, connectors, clock, { reconnects: new Map(rand() < 0.3 ? [['ams01', 1]] : []) });
    };

    let fleet: Tunnel[] = Array.from({ length: 10 }, tunnel);
    const list = () => store.recordSuccess('tunnels', 'acc', [...fleet], { ok: true, at: clock, durationSeconds: 0 });
    const connections = (ts: Tunnel[]) =>
      store.recordConnections('acc', new Set(fleet.map((t) => t.id)), new Map(ts.map((t) => [t.id, read(t)])), { ok: true, at: clock, durationSeconds: 0 });
    list();
    connections(fleet);

    const changes: Record<string, () => void> = {
      add: () => {
        fleet.splice(Math.floor(rand() * (fleet.length + 1)), 0, tunnel());
        list();
      },
      remove: () => {
        if (fleet.length > 1) fleet.splice(Math.floor(rand() * fleet.length), 1);
        list();
      },
      reorder: () => {
        fleet = [...fleet].sort(() => rand() - 0.5);
        list();
      },
      'swap two neighbours in a block': () => {
        const i = 3 * Math.floor((rand() * (fleet.length - 1)) / 3);
        if (i + 1 < fleet.length) [fleet[i], fleet[i + 1]] = [fleet[i + 1] as Tunnel, fleet[i] as Tunnel];
        list();
      },
      status: () => {
        const i = Math.floor(rand() * fleet.length);
        fleet[i] = { ...(fleet[i] as Tunnel), status: pick(STATUSES), connsActiveAt: clock };
        list();
      },
      'same list again (new objects)': () => {
        fleet = fleet.map((t) => ({ ...t }));
        list();
      },
      'one connections read': () => connections([pick(fleet)]),
      'connections data expires': () => {
        clock += MAX_AGE / 2;
        list();
        connections(fleet.filter(() => rand() < 0.5));
        clock += MAX_AGE / 2 + 1;
        list();
      },
    };
    const names = Object.keys(changes);
    let checked = 0;
    for (let step = 0; step < 120; step++) {
      const name = pick(names);
      (changes[name] as () => void)();
      const fresh = await text(createRenderer(options));
      expect(await text(incremental), `after step ${step} (${name})`).toBe(fresh);
      checked++;
    }
    expect(checked).toBe(120);
    // The fleet went through block boundaries both ways.
    expect(fleet.length).toBeGreaterThan(3);
  });

  it("keeps a changed block's segment of a family whose lines did not change (a connections read leaves the status lines as they were)", async () => {
    const store = createSnapshotStore();
    const clock = 1_800_000_000_000;
    const render = createRenderer({ families: snapshotFamilies(), snapshot: store.snapshot, staleDataMaxAgeMs: MAX_AGE, now: () => clock });
    const fleet: Tunnel[] = ['a', 'b'].map((id) => ({ accountId: 'acc', id, name: id, type: 'cfd_tunnel', status: 'healthy', configSrc: 'local' }));
    store.recordSuccess('tunnels', 'acc', fleet, { ok: true, at: clock, durationSeconds: 0 });
    const read = (connector: string): TunnelConnections =>
      tunnelRead(
        'a',
        [
          derivedConnector(connector, [{ id: `${connector}-1`, colo: 'ams01', flaggedPending: false }], {
            version: '2025.2.1',
            originIp: '192.0.2.1',
            runAt: clock,
          }),
        ],
        clock,
      );
    const connections = (connector: string) =>
      store.recordConnections('acc', new Set(['a', 'b']), new Map([['a', read(connector)]]), { ok: true, at: clock, durationSeconds: 0 });
    connections('c1');
    const pieceOf = (segments: Segment[], family: string) => segments.find((s) => textOf([s]).startsWith(`${family}{`));
    const before = (await render()).segments;
    // Tunnel a's connector is replaced: its connector lines change, no tunnel's status line does.
    connections('c2');
    const after = (await render()).segments;
    expect(textOf([pieceOf(after, 'cloudflare_tunnel_connector_info') as Segment])).toContain('connector_id="c2"');
    expect(pieceOf(after, 'cloudflare_tunnel_connector_info')).not.toBe(pieceOf(before, 'cloudflare_tunnel_connector_info'));
    expect(pieceOf(after, 'cloudflare_tunnel_status')).toBeDefined();
    expect(pieceOf(after, 'cloudflare_tunnel_status')).toBe(pieceOf(before, 'cloudflare_tunnel_status'));
    expect(pieceOf(after, 'cloudflare_tunnel_info')).toBe(pieceOf(before, 'cloudflare_tunnel_info'));
  });

  it('keeps the segments of unchanged blocks, so only a changed block is compressed again', async () => {
    const store = createSnapshotStore();
    const clock = 1_800_000_000_000;
    const render = createRenderer({
      families: snapshotFamilies(),
      snapshot: store.snapshot,
      staleDataMaxAgeMs: MAX_AGE,
      now: () => clock,
      tunnelsPerBlock: 2,
    });
    const fleet: Tunnel[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({
      accountId: 'acc',
      id,
      name: id,
      type: 'cfd_tunnel',
      status: 'healthy',
      configSrc: 'local',
    }));
    store.recordSuccess('tunnels', 'acc', fleet, { ok: true, at: clock, durationSeconds: 0 });
    const before = new Set((await render()).segments);
    // Tunnel e (third block) goes down: the first two blocks' pieces stay the same objects.
    store.recordSuccess(
      'tunnels',
      'acc',
      fleet.map((t) => (t.id === 'e' ? { ...t, status: 'down' as const } : { ...t })),
      { ok: true, at: clock, durationSeconds: 0 },
    );
    const after = (await render()).segments;
    const kept = after.filter((s) => before.has(s)).map((s) => textOf([s]));
    const rebuilt = after.filter((s) => !before.has(s)).map((s) => textOf([s]));
    expect(rebuilt.length).toBeGreaterThan(0);
    for (const piece of rebuilt) expect(piece).not.toMatch(/tunnel_id="[abcd]"/);
    expect(kept.some((text) => text.includes('tunnel_id="a"'))).toBe(true);
    expect(textOf(after)).toContain('cloudflare_tunnel_status{account_id="acc",tunnel_id="e",tunnel_name="e",tunnel_type="cfd_tunnel",status="down"} 1');
  });
});
