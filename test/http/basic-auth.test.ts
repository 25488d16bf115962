import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type BcryptVerifier, createBasicAuth, MAX_PENDING } from '../../src/http/basic-auth.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** A verifier that records what it was asked and answers when told. */
function recordingVerifier() {
  const asked: { password: string; hash: string; answer: (ok: boolean) => void }[] = [];
  const verifier: BcryptVerifier = {
    compare: (password, hash) => new Promise((answer) => asked.push({ password, hash, answer })),
    close: async () => undefined,
  };
  return { verifier, asked };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe('basic auth', () => {
  const cheap = bcrypt.hashSync('pw-a', 4);
  const costly = bcrypt.hashSync('pw-b', 6);

  it('compares an unknown user against the costliest configured hash, so timing does not reveal who exists', async () => {
    const { verifier, asked } = recordingVerifier();
    const check = createBasicAuth(
      new Map([
        ['alice', cheap],
        ['bob', costly],
      ]),
      verifier,
    );
    const result = check(basic('mallory', 'pw-b'));
    await new Promise((r) => setImmediate(r));
    expect(asked.map((a) => a.hash)).toEqual([costly]);
    asked[0]?.answer(true); // even a matching password must not let an unknown user in
    expect(await result).toBe('denied');
  });

  it('caches a verified credential: the next check costs no comparison', async () => {
    const { verifier, asked } = recordingVerifier();
    const check = createBasicAuth(new Map([['alice', cheap]]), verifier);
    const first = check(basic('alice', 'pw-a'));
    await new Promise((r) => setImmediate(r));
    asked[0]?.answer(true);
    expect(await first).toBe('ok');
    expect(await check(basic('alice', 'pw-a'))).toBe('ok');
    expect(asked).toHaveLength(1);
  });

  it(`keeps at most ${MAX_PENDING} comparisons waiting; past that, answers busy at once`, async () => {
    const { verifier, asked } = recordingVerifier();
    const check = createBasicAuth(new Map([['alice', cheap]]), verifier);
    const results = Array.from({ length: MAX_PENDING + 8 }, (_, i) => check(basic('alice', `wrong-${i}`)));
    const settled = await Promise.race([Promise.all(results.slice(MAX_PENDING)), new Promise((r) => setTimeout(() => r('stuck'), 1000))]);
    expect(settled).toEqual(Array(8).fill('busy'));
    expect(asked).toHaveLength(MAX_PENDING);
    for (const a of asked) a.answer(false);
    expect(new Set(await Promise.all(results.slice(0, MAX_PENDING)))).toEqual(new Set(['denied']));
  });

  it('runs bcrypt off the event loop: the loop stays mostly idle while wrong passwords are checked', async () => {
    const hash = bcrypt.hashSync('right', 10);
    const check = createBasicAuth(new Map([['prom', hash]]));
    closers.push(() => check.close());
    expect(await check(basic('prom', 'right'))).toBe('ok');
    const before = performance.eventLoopUtilization();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => check(basic('prom', `wrong-${i}`))));
    const used = performance.eventLoopUtilization(before);
    expect(results).toEqual(Array(6).fill('denied'));
    // bcryptjs on the main thread keeps the loop busy nearly all the time (utilization close to 1).
    expect(used.utilization).toBeLessThan(0.5);
  });

  it('a flood of wrong passwords never pushes the right one out: a verified credential answers at once, however many failures came between', async () => {
    const { verifier, asked } = recordingVerifier();
    const check = createBasicAuth(new Map([['prometheus', cheap]]), verifier);
    const good = check(basic('prometheus', 'pw-a'));
    await new Promise((r) => setImmediate(r));
    asked.shift()?.answer(true);
    expect(await good).toBe('ok');
    // 600 unique wrong passwords, answered in batches so the queue drains.
    for (let batch = 0; batch < 600 / MAX_PENDING; batch++) {
      const results = Array.from({ length: MAX_PENDING }, (_, i) => check(basic('prometheus', `wrong-${batch}-${i}`)));
      await new Promise((r) => setImmediate(r));
      for (const a of asked.splice(0)) a.answer(false);
      expect(new Set(await Promise.all(results))).toEqual(new Set(['denied']));
    }
    // And while the queue is full of wrong ones, the right one still answers without waiting.
    const flood = Array.from({ length: MAX_PENDING }, (_, i) => check(basic('prometheus', `again-${i}`)));
    await new Promise((r) => setImmediate(r));
    expect(await check(basic('prometheus', 'pw-a'))).toBe('ok');
    expect(asked).toHaveLength(MAX_PENDING);
    for (const a of asked.splice(0)) a.answer(false);
    await Promise.all(flood);
  });

  it('closing (a SIGHUP reload) answers the checks in flight before the worker ends', async () => {
    const check = createBasicAuth(new Map([['u', bcrypt.hashSync('pw', 8)]]));
    const inFlight = [check(basic('u', 'pw')), check(basic('u', 'nope'))];
    const closed = check.close();
    const settled = await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(() => r('unanswered'), 3000))]);
    expect(settled).toEqual(['ok', 'denied']);
    await closed;
  });
});
