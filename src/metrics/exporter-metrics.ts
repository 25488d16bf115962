// Everything /metrics serves, put together: the snapshot's families rendered ahead (./prerender.ts,
// ./snapshot-exposition.ts), then the exporter's own live metrics (./self.ts), then Node's process
// metrics (./process.ts). Each request's body is made by ./scrape.ts.
import type { Registry } from 'prom-client';
import { steadyNow } from '../clock.js';
import type { AccountLimits, PollIntervals, RemediationCounters } from '../domain/types.js';
import type { Snapshot } from '../snapshot/store.js';
import type { OnCut } from '../sources/answer.js';
import type { ApiObserver } from '../transport/http.js';
import { snapshotFamilies } from './families.js';
import { createPrerender } from './prerender.js';
import { createProcessMetrics } from './process.js';
import { inflate, type ScrapeBody, scrapeBody } from './scrape.js';
import { type BudgetSource, createSelfMetrics, type ShardSource } from './self.js';
import { createRenderer } from './snapshot-exposition.js';

export interface ExporterMetrics {
  /** The exporter's live self-metrics (API requests, rate limit, remediation, build info). */
  registry: Registry;
  observer: ApiObserver;
  remediation: RemediationCounters;
  /** Counts what an answer had cut to the limits (sources/answer.ts). */
  answerCut: OnCut;
  /** Feeds the budget and refresh-queue self-metrics (Cloudflare). */
  observeBudget(source: BudgetSource): void;
  /** Which shard this process is and what it owns. */
  observeShard(source: ShardSource): void;
  /** The exporter's own exposition: the snapshot's families, then the self-metrics. */
  renderOwn(): Promise<string>;
  /** renderOwn() followed by the process metrics, as one text. */
  render(): Promise<string>;
  /** What /metrics serves. */
  scrape(gzipped: boolean): Promise<ScrapeBody>;
  contentType: string;
  /** Stops the event-loop sampling and the GC observer (the process metrics stay readable). */
  close(): void;
}

export interface MetricsOptions {
  snapshot: () => Snapshot;
  /** Called back on every snapshot change, so the domain part is rendered ahead of scrapes. */
  subscribe?: (listener: () => void) => void;
  staleDataMaxAgeMs: number;
  intervals: PollIntervals;
  /** CLOUDFLARE_ACCOUNT_LIMITS: the documented limits unless raised. */
  accountLimits?: AccountLimits;
  now?: () => number;
}

export function createExporterMetrics(options: MetricsOptions): ExporterMetrics {
  const now = options.now ?? steadyNow;
  const self = createSelfMetrics({ snapshot: options.snapshot, now });
  // prom-client's default metrics, read and formatted without its registry.
  const processMetrics = createProcessMetrics();
  const render = createRenderer({
    families: snapshotFamilies(options.accountLimits),
    snapshot: options.snapshot,
    staleDataMaxAgeMs: options.staleDataMaxAgeMs,
    now,
  });
  const prerender = createPrerender({ render, snapshot: options.snapshot, now });
  options.subscribe?.(() => prerender.schedule());

  const renderOwn = async () => {
    const parts: Buffer[] = [];
    for await (const part of inflate((await prerender.current()).segments)) parts.push(part);
    return `${Buffer.concat(parts).toString('utf8')}\n${await self.registry.metrics()}`;
  };

  return {
    ...self,
    contentType: self.registry.contentType,
    close: () => processMetrics.close(),
    renderOwn,
    async render() {
      return `${await renderOwn()}\n${processMetrics.render()}`;
    },
    async scrape(gzipped) {
      // The domain part ends with a newline; a blank line before the self-metrics.
      return scrapeBody(await prerender.forScrape(), gzipped, async () => {
        const proc = processMetrics.render();
        return `\n${await self.registry.metrics()}\n${proc}`;
      });
    },
  };
}
