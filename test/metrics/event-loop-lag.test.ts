// The nodejs_eventloop_lag_* gauges the exporter measures itself (prom-client's cost 0.4 ms of
// blocked loop per scrape): same names, types and help as prom-client's, each once, the same
// meaning (the time between firings of a 10 ms timer), and the samples since the last scrape.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcessMetrics } from '../../src/metrics/process.js';
import { value } from '../helpers/exposition.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

const LAG_METRICS = ['', 'min_', 'max_', 'mean_', 'stddev_', 'p50_', 'p90_', 'p99_'].map((part) => `nodejs_eventloop_lag_${part}seconds`);

function setup() {
  const metrics = createProcessMetrics();
  closers.push(() => metrics.close());
  const scrape = async () => metrics.render();
  const stats = async () => {
    const text = await scrape();
    const read = (part: string) => value(text, `nodejs_eventloop_lag_${part}seconds`) as number;
    return { min: read('min_'), max: read('max_'), mean: read('mean_'), stddev: read('stddev_'), p50: read('p50_'), p90: read('p90_'), p99: read('p99_') };
  };
  return { scrape, stats };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A timer callback that holds the event loop for `ms`. */
const block = (ms: number) =>
  new Promise<void>((resolve) =>
    setTimeout(() => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // busy
      }
      resolve();
    }, 5),
  );

/** `# HELP` and `# TYPE` lines of the lag families, in name order. */
const header = (text: string) =>
  text
    .split('\n')
    .filter((line) => /^# (HELP|TYPE) nodejs_eventloop_lag_/.test(line))
    .sort();

describe('event-loop lag metrics', () => {
  it("has prom-client's names, types and help, each family once", async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const { scrape } = setup();
    const ours = await scrape();
    expect(header(ours)).toEqual(header(await theirs.metrics()));
    expect(header(ours)).toHaveLength(2 * LAG_METRICS.length);
    for (const name of LAG_METRICS) expect(theirs.getSingleMetric(name), name).toBeDefined();
  });

  it('shows an idle loop as about the 10 ms sampling interval, as prom-client does', async () => {
    const { scrape, stats } = setup();
    await scrape();
    await sleep(200);
    const s = await stats();
    // Node's timers run on a millisecond clock: a firing can come a little under 10 ms after the last.
    expect(s.min).toBeGreaterThanOrEqual(0.008);
    expect(s.p50).toBeGreaterThanOrEqual(0.008);
    expect(s.p50).toBeLessThan(0.05);
  });

  it('shows a blocked loop, with consistent statistics', async () => {
    const { scrape, stats } = setup();
    await scrape();
    await sleep(50);
    await block(60);
    await sleep(50);
    const s = await stats();
    expect(s.max).toBeGreaterThan(0.06);
    expect(s.min).toBeLessThanOrEqual(s.p50);
    expect(s.p50).toBeLessThanOrEqual(s.p90);
    expect(s.p90).toBeLessThanOrEqual(s.p99);
    // The histogram keeps three significant digits.
    expect(s.p99).toBeLessThanOrEqual(s.max * 1.001);
    expect(s.mean).toBeGreaterThan(s.min);
    expect(s.mean).toBeLessThan(s.max);
    expect(s.stddev).toBeGreaterThan(0.005);
    // Popoviciu: no distribution deviates by more than half its range.
    expect(s.stddev).toBeLessThanOrEqual((s.max - s.min) / 2);
  });

  it('reports the samples since the previous scrape', async () => {
    const { scrape, stats } = setup();
    await scrape();
    await block(60);
    // The timer's next firing is what measures the block.
    await sleep(30);
    expect((await stats()).max).toBeGreaterThan(0.06);
    await sleep(100);
    expect((await stats()).max).toBeLessThan(0.06);
  });

  it('reports the setImmediate delay measured from the previous scrape in nodejs_eventloop_lag_seconds', async () => {
    const { scrape } = setup();
    expect(value(await scrape(), 'nodejs_eventloop_lag_seconds')).toBe(0);
    await sleep(20);
    const lag = value(await scrape(), 'nodejs_eventloop_lag_seconds') as number;
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThan(1);
  });

  it('stops sampling when closed: each registry reads only its own window', async () => {
    const a = setup();
    const b = setup();
    await a.scrape();
    await b.scrape();
    (closers.shift() as () => void)();
    await sleep(60);
    expect((await a.stats()).max).toBe(0);
    expect((await b.stats()).max).toBeGreaterThan(0.008);
  });
});
