// Node's event-loop delay under prom-client's default names (nodejs_eventloop_lag_*), with its
// meaning, measured so that a scrape reads it in microseconds. prom-client reads the mean and the
// standard deviation from monitorEventLoopDelay's histogram, and Node computes both by walking
// every bucket of it, blocking the event loop on every scrape (what that cost: docs/performance.md).
// Here one timer per process samples the same thing
// monitorEventLoopDelay does (the time between two firings of a 10 ms timer, so an idle loop shows
// about 0.01 s), keeps the mean and deviation as running sums, and a histogram only for percentiles.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

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

/** What one read reports, in seconds: the samples since the previous read. */
export interface LagStats {
  /** The delay of a setImmediate started by the previous read (prom-client's nodejs_eventloop_lag_seconds). */
  lag: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * A window on the process's event-loop samples, for one reader (./process.ts): each read() reports
 * the samples since the previous one and starts a new window. close() stops the sampling once no
 * window is open.
 */
export function openLagWindow(): { read(): LagStats; close(): void } {
  const w = open();
  let immediateLag = 0;
  const seconds = (ns: number) => ns / 1e9;
  return {
    read() {
      const started = process.hrtime.bigint();
      setImmediate(() => {
        immediateLag = Number(process.hrtime.bigint() - started);
      });
      const stats =
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
      return {
        lag: seconds(immediateLag),
        min: seconds(stats.min),
        max: seconds(stats.max),
        mean: seconds(stats.mean),
        stddev: seconds(stats.stddev),
        p50: seconds(stats.p50),
        p90: seconds(stats.p90),
        p99: seconds(stats.p99),
      };
    },
    close: () => close(w),
  };
}
