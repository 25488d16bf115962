// Keeps the domain part of /metrics rendered ahead of scrapes: a render soon after each snapshot
// change, and again when a series expires (STALE_DATA_MAX_AGE). A scrape takes the last complete
// render at once, unless it lacks a source the snapshot now has.
import type { Snapshot } from '../snapshot/store.js';
import { type Rendered, sourceCount } from './snapshot-exposition.js';

export interface Prerender {
  /** The render a scrape sends now: the last complete one, or a current one when it lacks a source. */
  forScrape(): Promise<Rendered>;
  /** Up to date with the snapshot (tests, --config tools): renders now when outdated. */
  current(): Promise<Rendered>;
  /** Schedules a render when the snapshot changed or a series expires. */
  schedule(): void;
}

/** The soonest a render follows a change; after a costly render, twice its cost. */
const MIN_SPACING_MS = 50;

export function createPrerender(options: { render: () => Promise<Rendered>; snapshot: () => Snapshot; now: () => number }): Prerender {
  let latest: Rendered | undefined;
  let rendering: Promise<Rendered> | undefined;
  let scheduled: { timer: ReturnType<typeof setTimeout>; at: number } | undefined;
  const changed = () => !latest || latest.version !== options.snapshot().version;
  const outdated = () => changed() || options.now() >= (latest as Rendered).nextExpiry;

  const renderNow = (): Promise<Rendered> => {
    rendering ??= options.render().then(
      (r) => {
        latest = r;
        rendering = undefined;
        schedule();
        return r;
      },
      (err: unknown) => {
        rendering = undefined;
        throw err;
      },
    );
    return rendering;
  };

  function schedule(): void {
    // A render in progress schedules the next one when it ends.
    if (rendering) return;
    const wait = changed() ? Math.max(MIN_SPACING_MS, 2 * (latest?.durationMs ?? 0)) : (latest?.nextExpiry ?? Infinity) - options.now();
    if (!Number.isFinite(wait)) return;
    const at = Date.now() + Math.max(0, wait);
    // An earlier render replaces a later one (a change arriving while an expiry render waits).
    if (scheduled && scheduled.at <= at) return;
    if (scheduled) clearTimeout(scheduled.timer);
    const timer = setTimeout(
      () => {
        scheduled = undefined;
        void renderNow().catch(() => undefined);
      },
      Math.max(0, Math.min(wait, 2 ** 31 - 1)),
    );
    timer.unref();
    scheduled = { timer, at };
  }

  const current = async (): Promise<Rendered> => {
    for (let i = 0; i < 3 && outdated(); i++) await renderNow();
    return latest ?? renderNow();
  };

  return {
    schedule,
    current,
    async forScrape() {
      // A render that lacks a source the snapshot now has (the tunnel list arriving after the first
      // render) is not served: that scrape waits for a current one.
      const domain = latest && latest.sources >= sourceCount(options.snapshot()) ? latest : await current();
      if (outdated()) schedule();
      return domain;
    },
  };
}
