// The Node.js process metrics the exporter reads itself: prom-client's default families (names,
// help, types and label names), less the three *_total gauges promtool rejects, with values that
// agree with what the process and the kernel report.
import { readdirSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcessMetrics } from '../../src/metrics/process.js';
import { parseExposition, value } from '../helpers/exposition.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function open() {
  const metrics = createProcessMetrics();
  closers.push(() => metrics.close());
  return metrics;
}

/** Per family: its HELP and TYPE lines, and the label names its samples carry. */
function shape(text: string) {
  const families = new Map<string, { header: string[]; labels: Set<string> }>();
  for (const line of text.split('\n')) {
    const header = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (header) {
      const family = families.get(header[2] as string) ?? { header: [], labels: new Set<string>() };
      family.header.push(line);
      families.set(header[2] as string, family);
    }
  }
  for (const sample of parseExposition(text)) {
    const family = families.get(sample.name) ?? families.get(sample.name.replace(/_(bucket|sum|count)$/, ''));
    for (const label of Object.keys(sample.labels)) family?.labels.add(label);
  }
  return families;
}

/** Makes some garbage and waits, so at least one collection is observed. */
async function collectSome() {
  let keep = 0;
  for (let i = 0; i < 200; i++) keep += new Array(10_000).fill(i).length;
  await new Promise((r) => setTimeout(r, 50));
  return keep;
}

describe('process metrics', () => {
  it("has prom-client's default families, except the *_total gauges promtool rejects", async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const ours = open();
    await collectSome();
    const expected = shape(await theirs.metrics());
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      expect(expected.delete(name), name).toBe(true);
    }
    const actual = shape(ours.render());
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, family] of expected) {
      expect(actual.get(name)?.header, name).toEqual(family.header);
      // A family with no samples in one of the two (no active request now) has no labels to compare.
      const labels = actual.get(name)?.labels ?? new Set();
      if (family.labels.size > 0 && labels.size > 0) expect([...labels].sort(), name).toEqual([...family.labels].sort());
    }
  });

  it('reports what the process and the kernel report', async () => {
    const metrics = open();
    const text = metrics.render();
    const cpu = process.cpuUsage();
    expect(value(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(text, 'process_cpu_seconds_total')).toBeLessThanOrEqual((cpu.user + cpu.system) / 1e6);
    expect(value(text, 'process_cpu_seconds_total')).toBeCloseTo(
      (value(text, 'process_cpu_user_seconds_total') ?? 0) + (value(text, 'process_cpu_system_seconds_total') ?? 0),
      5,
    );
    expect(Math.abs((value(text, 'process_start_time_seconds') ?? 0) - (Date.now() / 1000 - process.uptime()))).toBeLessThan(1);
    const rss = value(text, 'process_resident_memory_bytes') ?? 0;
    expect(rss / process.memoryUsage.rss()).toBeGreaterThan(0.8);
    expect(rss / process.memoryUsage.rss()).toBeLessThan(1.2);
    expect(value(text, 'process_virtual_memory_bytes')).toBeGreaterThan(rss);
    expect(value(text, 'process_open_fds')).toBe(readdirSync('/proc/self/fd').length - 1);
    const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    expect(value(text, 'process_max_fds')).toBe(Number(limit));
    expect(value(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    const spaces = getHeapSpaceStatistics().map((s) => s.space_name.replace(/_space$/, ''));
    const reported = parseExposition(text)
      .filter((s) => s.name === 'nodejs_heap_space_size_total_bytes')
      .map((s) => s.labels.space);
    expect(reported).toEqual(spaces);
    expect(value(text, 'nodejs_version_info', { version: process.version })).toBe(1);
    // The test runner's own sockets and timers keep the loop alive (the lag sampling's timer is unref'd).
    expect(parseExposition(text).filter((s) => s.name === 'nodejs_active_resources').length).toBeGreaterThan(0);
  });

  it('reads the memory figures afresh at every scrape', () => {
    const metrics = open();
    const before = value(metrics.render(), 'process_resident_memory_bytes') ?? 0;
    const touched = Buffer.alloc(64 * 1024 * 1024, 1);
    const text = metrics.render();
    expect((value(text, 'process_resident_memory_bytes') ?? 0) - before).toBeGreaterThan(32 * 1024 * 1024);
    expect(Math.abs((value(text, 'nodejs_external_memory_bytes') ?? 0) - process.memoryUsage().external)).toBeLessThan(1024 * 1024);
    expect(touched.length).toBe(64 * 1024 * 1024);
  });

  it('leaves no file descriptor open once closed', () => {
    const before = readdirSync('/proc/self/fd').length;
    const metrics = createProcessMetrics();
    metrics.render();
    expect(readdirSync('/proc/self/fd').length).toBe(before + 1);
    metrics.close();
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('counts every garbage collection in a histogram by kind', async () => {
    const metrics = open();
    await collectSome();
    const samples = parseExposition(metrics.render()).filter((s) => s.name.startsWith('nodejs_gc_duration_seconds'));
    const kinds = new Set(samples.map((s) => s.labels.kind));
    expect(kinds.size).toBeGreaterThan(0);
    for (const kind of kinds) {
      const buckets = samples.filter((s) => s.name === 'nodejs_gc_duration_seconds_bucket' && s.labels.kind === kind);
      expect(buckets.map((b) => b.labels.le)).toEqual(['0.001', '0.01', '0.1', '1', '2', '5', '+Inf']);
      // Cumulative: never decreasing, and the last bucket is the count.
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value ?? 0);
      const count = samples.find((s) => s.name === 'nodejs_gc_duration_seconds_count' && s.labels.kind === kind)?.value;
      expect(count).toBeGreaterThan(0);
      expect(buckets.at(-1)?.value).toBe(count);
      expect(samples.find((s) => s.name === 'nodejs_gc_duration_seconds_sum' && s.labels.kind === kind)?.value).toBeGreaterThan(0);
    }
  });
});
