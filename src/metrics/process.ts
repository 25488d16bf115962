// The Node.js process metrics, under the names, help texts, types and labels of prom-client's
// collectDefaultMetrics, one table entry each (domain/family.ts), read once and formatted
// synchronously at each scrape, without prom-client's async registry (what that saves is in
// docs/performance.md). Differences, on purpose:
// - the three gauges prom-client names *_total (nodejs_active_{handles,requests,resources}_total)
//   are left out: promtool rejects the whole exposition for them, and each is the sum of the
//   family of the same name without the suffix;
// - process_cpu_*_seconds_total count from the process's start, not from the registry's creation;
// - every garbage collection is counted (prom-client reads only the first of a batch of entries).
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { Emit, Family } from '../domain/family.js';
import { openLagWindow } from './event-loop-lag.js';
import { formatFamily } from './text-format.js';

export interface ProcessMetrics {
  /** The families as exposition text, one line per sample, ending with a newline. */
  render(): string;
  /** Stops the event-loop sampling and the garbage-collection observer; closes /proc/self/status. */
  close(): void;
}

const LINUX = process.platform === 'linux';
/** prom-client's default buckets for nodejs_gc_duration_seconds. */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** As prom-client computes it, once: whole seconds. */
const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** The soft limit from /proc/self/limits, read once; undefined where there is no procfs. */
function maxFds(): number | undefined {
  if (!LINUX) return undefined;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const limit = Number(line?.split(/ {2,}/)[1]);
    return Number.isFinite(limit) ? limit : undefined;
  } catch {
    return undefined;
  }
}

/**
 * VmRSS, VmSize and VmData from /proc/self/status, in bytes. The file stays open: reading it again
 * from the start makes the kernel write it anew, at a third of the cost of opening it each time.
 */
function procStatus(): { read(): { rss: number; size: number; data: number } | undefined; close(): void } {
  let fd: number | undefined;
  const buffer = Buffer.alloc(16_384);
  const read = () => {
    try {
      fd ??= openSync('/proc/self/status', 'r');
      const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
      const kB = (field: string) => {
        const at = text.indexOf(`\n${field}:`);
        return at < 0 ? Number.NaN : Number.parseInt(text.slice(at + field.length + 2).trimStart(), 10) * 1024;
      };
      return { rss: kB('VmRSS'), size: kB('VmSize'), data: kB('VmData') };
    } catch {
      return undefined;
    }
  };
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return { read, close };
}

function countBy(names: readonly string[], emit: Emit): void {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const [type, n] of counts) emit([type], n);
}

/** Constructor names of libuv handles or requests (prom-client's grouping). */
function constructorNames(list: readonly unknown[] | undefined): string[] {
  const names: string[] = [];
  for (const item of list ?? []) {
    const name = (item as { constructor?: { name?: string } } | null)?.constructor?.name;
    if (name !== undefined) names.push(name);
  }
  return names;
}

interface GcKind {
  buckets: number[];
  sum: number;
  count: number;
}

/** One scrape's readings of the process. */
interface Reading {
  cpu: NodeJS.CpuUsage;
  heap: ReturnType<typeof getHeapStatistics>;
  vm: { rss: number; size: number; data: number } | undefined;
  openFds: number | undefined;
  maxFds: number | undefined;
  lag: ReturnType<ReturnType<typeof openLagWindow>['read']>;
  spaces: { space: string; total: number; used: number; available: number }[];
}

const internals = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };
const [major, minor, patch] = process.version.slice(1).split('.');
const VERSION_VALUES = [process.version, major ?? '', minor ?? '', patch ?? ''];

/** A family of one unlabelled sample; NaN or undefined is no sample. */
function single(name: string, help: string, value: (r: Reading) => number | undefined, type: 'gauge' | 'counter' = 'gauge'): Family<Reading> {
  return {
    name,
    help,
    type,
    labels: [],
    samples: (r, emit) => {
      const v = value(r);
      if (v !== undefined && !Number.isNaN(v)) emit([], v);
    },
  };
}

function perSpace(name: string, help: string, value: (s: Reading['spaces'][number]) => number): Family<Reading> {
  return {
    name,
    help,
    type: 'gauge',
    labels: ['space'],
    samples: (r, emit) => {
      for (const s of r.spaces) emit([s.space], value(s));
    },
  };
}

function byType(name: string, help: string, names: () => readonly string[]): Family<Reading> {
  return { name, help, type: 'gauge', labels: ['type'], samples: (_, emit) => countBy(names(), emit) };
}

/** prom-client's families in its order; those that need procfs only on Linux. */
const FAMILIES: Family<Reading>[] = [
  single('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', (r) => r.cpu.user / 1e6, 'counter'),
  single('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', (r) => r.cpu.system / 1e6, 'counter'),
  single('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (r) => (r.cpu.user + r.cpu.system) / 1e6, 'counter'),
  single('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => START_SECONDS),
  single('process_resident_memory_bytes', 'Resident memory size in bytes.', (r) => (r.vm ? r.vm.rss : process.memoryUsage.rss())),
  ...(LINUX
    ? [
        single('process_virtual_memory_bytes', 'Virtual memory size in bytes.', (r) => r.vm?.size),
        single('process_heap_bytes', 'Process heap size in bytes.', (r) => r.vm?.data),
        single('process_open_fds', 'Number of open file descriptors.', (r) => r.openFds),
        single('process_max_fds', 'Maximum number of open file descriptors.', (r) => r.maxFds),
      ]
    : []),
  single('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', (r) => r.lag.lag),
  single('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', (r) => r.lag.min),
  single('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', (r) => r.lag.max),
  single('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', (r) => r.lag.mean),
  single('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.', (r) => r.lag.stddev),
  single('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.', (r) => r.lag.p50),
  single('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.', (r) => r.lag.p90),
  single('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.', (r) => r.lag.p99),
  byType('nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', () =>
    process.getActiveResourcesInfo(),
  ),
  byType('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', () =>
    constructorNames(internals._getActiveHandles?.()),
  ),
  byType('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', () =>
    constructorNames(internals._getActiveRequests?.()),
  ),
  single('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', (r) => r.heap.total_heap_size),
  single('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', (r) => r.heap.used_heap_size),
  single('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', (r) => r.heap.external_memory),
  perSpace('nodejs_heap_space_size_total_bytes', 'Process heap space size total from Node.js in bytes.', (s) => s.total),
  perSpace('nodejs_heap_space_size_used_bytes', 'Process heap space size used from Node.js in bytes.', (s) => s.used),
  perSpace('nodejs_heap_space_size_available_bytes', 'Process heap space size available from Node.js in bytes.', (s) => s.available),
  {
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    type: 'gauge',
    labels: ['version', 'major', 'minor', 'patch'],
    samples: (_, emit) => emit(VERSION_VALUES, 1),
  },
];

export function createProcessMetrics(): ProcessMetrics {
  const lag = openLagWindow();
  const fdLimit = maxFds();
  const status = LINUX ? procStatus() : { read: () => undefined, close: () => undefined };
  const gc = new Map<string, GcKind>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS.get((entry as { detail?: { kind?: number } }).detail?.kind ?? -1);
      if (kind === undefined) continue;
      let k = gc.get(kind);
      if (!k) {
        k = { buckets: GC_BUCKETS.map(() => 0), sum: 0, count: 0 };
        gc.set(kind, k);
      }
      const seconds = entry.duration / 1000;
      // Each bucket counts what fell in it; the cumulative counts are summed at render.
      const at = GC_BUCKETS.findIndex((le) => seconds <= le);
      if (at >= 0) (k.buckets[at] as number)++;
      k.sum += seconds;
      k.count++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  function gcFamily(): string {
    const name = 'nodejs_gc_duration_seconds';
    const lines = [`# HELP ${name} Garbage collection duration by kind, one of major, minor, incremental or weakcb.`, `# TYPE ${name} histogram`];
    for (const [kind, k] of gc) {
      let cumulative = 0;
      GC_BUCKETS.forEach((le, i) => {
        cumulative += k.buckets[i] as number;
        lines.push(`${name}_bucket{le="${le}",kind="${kind}"} ${cumulative}`);
      });
      lines.push(`${name}_bucket{le="+Inf",kind="${kind}"} ${k.count}`, `${name}_sum{kind="${kind}"} ${k.sum}`, `${name}_count{kind="${kind}"} ${k.count}`);
    }
    return lines.join('\n');
  }

  function read(): Reading {
    // First: its first read opens /proc/self/status, which the descriptor count then includes.
    const vm = status.read();
    let openFds: number | undefined;
    if (LINUX) {
      try {
        // Less the descriptor readdirSync itself had open.
        openFds = readdirSync('/proc/self/fd').length - 1;
      } catch {
        openFds = undefined;
      }
    }
    return {
      cpu: process.cpuUsage(),
      // process.memoryUsage() reads the same heap statistics, and the resident size again.
      heap: getHeapStatistics(),
      vm,
      openFds,
      maxFds: fdLimit,
      lag: lag.read(),
      spaces: getHeapSpaceStatistics().map((s) => ({
        space: s.space_name.slice(0, s.space_name.indexOf('_space')),
        total: s.space_size,
        used: s.space_used_size,
        available: s.space_available_size,
      })),
    };
  }

  return {
    render() {
      const reading = read();
      return `${FAMILIES.map((family) => formatFamily(family, [reading])).join('\n')}\n${gcFamily()}\n`;
    },
    close() {
      lag.close();
      observer.disconnect();
      status.close();
    },
  };
}
