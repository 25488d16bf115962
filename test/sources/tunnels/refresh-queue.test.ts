// The refresh queue as plain data: tunnel lists and read outcomes in, the order of reads out.
import { describe, expect, it } from 'vitest';
import { type Next, RefreshQueue } from '../../../src/sources/tunnels/refresh-queue.js';
import { listedTunnel } from '../../helpers/connectors.js';

const INTERVAL = 60_000;
const tunnel = listedTunnel;

/** Reads every due tunnel at `t`, one after the other, all succeeding: the ids in the order read. */
function readAll(queue: RefreshQueue, t: number): string[] {
  const order: string[] = [];
  for (let pick: Next = queue.next(t); 'tunnel' in pick; pick = queue.next(t)) {
    queue.begin(pick);
    queue.succeeded(pick.tunnel, t);
    order.push(pick.tunnel.tunnel.id);
  }
  return order;
}

describe('refresh queue', () => {
  it('reads changed tunnels first, degraded ones taking every other slot, then the rest; each once per interval', () => {
    const queue = new RefreshQueue(INTERVAL);
    queue.update('a', [tunnel('h1'), tunnel('d1', 'degraded'), tunnel('h2'), tunnel('d2', 'degraded'), tunnel('d3', 'degraded')], 0);
    expect(readAll(queue, 0)).toEqual(['d1', 'h1', 'd2', 'h2', 'd3']);
    expect(readAll(queue, INTERVAL - 1)).toEqual([]);
    // h2 came up again (a new conns_active_at): first, before the degraded ones due at the interval.
    queue.update(
      'a',
      [tunnel('h1'), tunnel('d1', 'degraded'), tunnel('h2', 'healthy', { connsActiveAt: 5 }), tunnel('d2', 'degraded'), tunnel('d3', 'degraded')],
      1,
    );
    expect(readAll(queue, 1)).toEqual(['h2']);
    expect(readAll(queue, INTERVAL)).toEqual(['d1', 'h1', 'd2', 'd3']);
  });

  it('puts never-read tunnels first within their urgency, then the oldest data', () => {
    const queue = new RefreshQueue(INTERVAL);
    queue.update('a', [tunnel('x'), tunnel('y')], 0);
    const first = queue.next(0);
    if (!('tunnel' in first)) throw new Error('nothing due');
    queue.begin(first);
    queue.succeeded(first.tunnel, 0);
    queue.update('a', [tunnel('x'), tunnel('y'), tunnel('z')], INTERVAL);
    // y and z were never read: before x, whose data is the oldest read.
    expect(readAll(queue, INTERVAL)).toEqual(['y', 'z', 'x']);
  });

  it('waits after a failed read, and says when the next tunnel falls due', () => {
    const queue = new RefreshQueue(INTERVAL, 10_000);
    queue.update('a', [tunnel('x')], 0);
    const pick = queue.next(0);
    if (!('tunnel' in pick)) throw new Error('nothing due');
    queue.begin(pick);
    expect(queue.next(0)).toEqual({ at: Infinity });
    queue.failed(pick.tunnel, 0);
    expect(queue.next(5_000)).toEqual({ at: 10_000 });
    expect(readAll(queue, 10_000)).toEqual(['x']);
    expect(queue.next(10_000)).toEqual({ at: 10_000 + INTERVAL });
  });

  it('needs no read for inactive and long-down tunnels, and forgets tunnels no longer listed', () => {
    const queue = new RefreshQueue(INTERVAL);
    const longAgo = -2 * 3_600_000;
    const noCall = queue.update(
      'a',
      [tunnel('i', 'inactive'), tunnel('old', 'down', { connsInactiveAt: longAgo }), tunnel('new', 'down', { connsInactiveAt: -1 })],
      0,
    );
    expect(noCall.map((t) => t.id)).toEqual(['i', 'old']);
    // The tunnel that just went down is read; the inactive one is read once it comes up.
    expect(readAll(queue, 0)).toEqual(['new']);
    queue.update('a', [tunnel('i', 'healthy', { connsActiveAt: 1 })], 1);
    expect(readAll(queue, 1)).toEqual(['i']);
    expect(queue.busy(1)).toBe(false);
  });

  it('counts the tunnels due per account as of the last scan', () => {
    const queue = new RefreshQueue(INTERVAL);
    queue.update('a', [tunnel('x'), tunnel('y')], 0);
    queue.update('b', [{ ...tunnel('z'), accountId: 'b' }], 0);
    queue.next(0);
    expect(queue.dueByAccount()).toEqual(
      new Map([
        ['a', 2],
        ['b', 1],
      ]),
    );
    readAll(queue, 0);
    expect(queue.dueByAccount()).toEqual(new Map());
  });

  it('does not take a read that finished after its tunnel left the list', () => {
    const queue = new RefreshQueue(INTERVAL);
    queue.update('a', [tunnel('x')], 0);
    const pick = queue.next(0);
    if (!('tunnel' in pick)) throw new Error('nothing due');
    queue.begin(pick);
    queue.update('a', [], 1);
    expect(queue.succeeded(pick.tunnel, 2)).toBe(false);
  });
});
