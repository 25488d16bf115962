// The poll health families of every source, one table entry each (domain/family.ts): success,
// duration and last success per collector and scope (account or organization id). Pure.
import { toWall } from '../clock.js';
import { type Family, seconds } from '../domain/family.js';
import type { CollectorName, SourceEntry } from '../snapshot/store.js';

export interface PollHealth {
  collector: CollectorName;
  scope: string;
  entry: SourceEntry<unknown>;
}

const labels = ['collector', 'scope'] as const;

/** The collectors that stop alone, for an hour, when the credential lacks their permission. */
const OPTIONAL: ReadonlySet<CollectorName> = new Set(['tunnel_configurations', 'routes', 'hostname_routes']);

export const HEALTH_FAMILIES: Family<PollHealth>[] = [
  {
    name: 'cloudflare_tunnel_exporter_collector_success',
    help: 'Whether the last poll of this collector and scope (account or organization id) succeeded: 1 yes, 0 no.',
    type: 'gauge',
    labels,
    samples: (h, emit) => emit([h.collector, h.scope], h.entry.last.ok ? 1 : 0),
  },
  {
    name: 'cloudflare_tunnel_exporter_collector_duration_seconds',
    help: 'How long the last poll of this collector and scope took, in seconds.',
    type: 'gauge',
    labels,
    samples: (h, emit) => emit([h.collector, h.scope], h.entry.last.durationSeconds),
  },
  {
    name: 'cloudflare_tunnel_exporter_collector_last_success_timestamp_seconds',
    help: 'When this collector and scope last polled successfully, in Unix seconds.',
    type: 'gauge',
    labels,
    samples: (h, emit) => h.entry.lastSuccessAt !== undefined && emit([h.collector, h.scope], seconds(toWall(h.entry.lastSuccessAt))),
  },
  {
    name: 'cloudflare_tunnel_exporter_collector_skipped',
    help: 'Whether this optional collector (tunnel_configurations, routes, hostname_routes) is skipped for this scope because the credential lacks its permission: 1 yes (the log names the permission; it is asked again every hour), 0 no.',
    type: 'gauge',
    labels,
    samples: (h, emit) => OPTIONAL.has(h.collector) && emit([h.collector, h.scope], h.entry.last.skipped ? 1 : 0),
  },
];
