// Node's event-loop delay under prom-client's default names (nodejs_eventloop_lag_*), with its
// meaning, measured so that a scrape reads it in microseconds. prom-client reads the mean and the
// standard deviation from monitorEventLoopDelay's histogram, and Node computes both by walking
// every bucket of it: about 0.4 ms of blocked event loop on every scrape, most of what a scrape
// costs beyond sending its bytes. Here one timer per process samples the same thing
// monitorEventLoopDelay does (the time between two firings of a 10 ms timer, so an idle loop shows
// about 0.01 s), keeps the mean and deviation as running sums, and a histogram only for percentiles.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** The names prom-client's collectDefaultMetrics gives these gauges. */
export const LAG_METRICS = ['', 'min_', 'max_', 'mean_', 'stddev_', 'p50_', 'p90_', 'p99_'].map((part) => `nodejs_eventloop_lag_${part}seconds`);

/** What a scrape reports when no sample came since the last one. */
const NO_SAMPLES = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };

/** prom-client's default eventLoopMonitoringPrecision, in milliseconds. */
const RESOLUTION_MS = 10;

/** What one registry reads: the samples since its last scrape (prom-client resets at each scrape too). */
interface Window {
  histogram: RecordableHistogram;
  count: number;
  mean: number;
  /** Sum of squared differences from the mean (Welford), for the standard deviation. */
  m2: number;
  min: number;
  max: number;
}

const windows = new Set<Window>();
let timer: ReturnType<typeof setInterval> | undefined;
let previous = 0n;

function tick(): void {
  const now = process.hrtime.bigint();
  const ns = Number(now - previous);
  previous = now;
  for (const w of windows) record(w, ns);
}

function record(w: Window, ns: number): void {
  w.histogram.record(Math.max(1, ns));
  w.count++;
  const delta = ns - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (ns - w.mean);
  if (ns < w.min) w.min = ns;
  if (ns > w.max) w.max = ns;
}

function reset(w: Window): void {
  w.histogram.reset();
  w.count = 0;
  w.mean = 0;
  w.m2 = 0;
  w.min = Infinity;
  w.max = 0;
}

function open(): Window {
  const w: Window = { histogram: createHistogram(), count: 0, mean: 0, m2: 0, min: Infinity, max: 0 };
  windows.add(w);
  if (!timer) {
    previous = process.hrtime.bigint();
    timer = setInterval(tick, RESOLUTION_MS);
    timer.unref();
  }
  return w;
}

function close(w: Window): void {
  windows.delete(w);
  if (windows.size === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}

/**
 * Registers the eight nodejs_eventloop_lag_* gauges on `registry` (use it instead of
 * prom-client's, removed from collectDefaultMetrics' set). Each scrape reports the samples since the
 * previous one, in seconds; `nodejs_eventloop_lag_seconds` is, as in prom-client, the delay of a
 * setImmediate started by the previous scrape. Returns a function that stops the sampling.
 */
export function eventLoopLagMetrics(registry: Registry): () => void {
  const w = open();
  let immediateLag = 0;
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  const seconds = (ns: number) => ns / 1e9;
  // Read together by the first gauge, so every gauge of one scrape describes the same samples.
  let stats = NO_SAMPLES;
  gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', () => {
    const started = process.hrtime.bigint();
    setImmediate(() => {
      immediateLag = Number(process.hrtime.bigint() - started);
    });
    stats =
      w.count === 0
        ? NO_SAMPLES
        : {
            min: w.min,
            max: w.max,
            mean: w.mean,
            stddev: Math.sqrt(w.m2 / w.count),
            p50: w.histogram.percentile(50),
            p90: w.histogram.percentile(90),
            p99: w.histogram.percentile(99),
          };
    reset(w);
    return seconds(immediateLag);
  });
  gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', () => seconds(stats.min));
  gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', () => seconds(stats.max));
  gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', () => seconds(stats.mean));
  gauge('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.', () => seconds(stats.stddev));
  gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.', () => seconds(stats.p50));
  gauge('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.', () => seconds(stats.p90));
  gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.', () => seconds(stats.p99));
  return () => close(w);
}
