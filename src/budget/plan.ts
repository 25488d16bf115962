// Cloudflare's request budget, planned: CLOUDFLARE_API_BUDGET requests in any 5 minutes, shared by
// the tunnel lists and Gateway (the scheduled share, with first claim), remediation's re-reads and
// writes (a reserve), and the continuous connections refresh (the rest, at an even pace). Here are
// the estimate of what the schedules need for the fleet last listed, the share each part gets, the
// refresh's pace, and the warning when the schedules need more than the budget. The window that
// enforces it, with its lanes, is ./window.ts.

import { hasConfiguration, needsConnectionsCall, type PollIntervals, type Tunnel } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { Snapshot } from '../snapshot/store.js';
import { createPacer, type Pace, type Pacer } from './window.js';

/** Cloudflare's rate-limit window: 1200 requests per 5 minutes per user. */
export const CLOUDFLARE_WINDOW_MS = 300_000;
const WINDOW_SECONDS = CLOUDFLARE_WINDOW_MS / 1000;
/** A slot is given again this long after its window ended: a request reaches Cloudflare a little after its grant. */
const GRANT_MARGIN_MS = 1000;
/** A remediation action costs a re-read and a write. */
const REQUESTS_PER_ACTION = 2;
const WINDOWS_PER_HOUR = 3_600_000 / CLOUDFLARE_WINDOW_MS;
/** When the fleet does not fit, the refresh's burst is this share of what it gets (never below 1). */
const SPREAD_BURST_DIVISOR = 20;
/** The warning is repeated when the estimate moves by more than this share. */
const WARN_AGAIN_CHANGE = 0.1;

export interface RequestEstimate {
  /** Tunnel list pages and Gateway polls per 5 minutes. */
  scheduled: number;
  /** Connections reads per 5 minutes for every tunnel that can have connections, once an interval. */
  connections: number;
  /** Configuration reads per 5 minutes for the sweep (CONFIGURATIONS_SCHEDULE), at most their share of the budget. */
  configurations: number;
  total: number;
}

/** List requests one poll of an account makes: a page per `perPage` tunnels, at least one. */
function tunnelListCalls(tunnels: readonly Tunnel[], perPage: number): number {
  return Math.max(1, Math.ceil(tunnels.length / perPage));
}

/** `accounts` counts accounts configured but not listed yet: each needs at least one page. */
export function estimateCloudflareRequests(
  snapshot: Snapshot,
  intervals: PollIntervals,
  now: number,
  perPage: number,
  accounts = snapshot.tunnels.size,
): RequestEstimate {
  const perWindow = (seconds: number) => WINDOW_SECONDS / seconds;
  let scheduled = 0;
  let connections = 0;
  let configured = 0;
  for (const entry of snapshot.tunnels.values()) {
    const tunnels = entry.data ?? [];
    scheduled += tunnelListCalls(tunnels, perPage) * perWindow(intervals.tunnelsSeconds);
    connections += tunnels.filter((t) => needsConnectionsCall(t, now)).length * perWindow(intervals.tunnelsSeconds);
    configured += tunnels.filter(hasConfiguration).length;
  }
  scheduled += Math.max(0, accounts - snapshot.tunnels.size) * perWindow(intervals.tunnelsSeconds);
  // Every account is also polled for Gateway proxy endpoints, one call each time, and for its
  // routes and hostname routes (one page each: an account holds at most 1,000 routes).
  scheduled += accounts * perWindow(intervals.gatewaySeconds);
  if (intervals.routesSeconds) scheduled += 2 * accounts * perWindow(intervals.routesSeconds);
  const configurations = intervals.configurationsSeconds ? Math.ceil(configured * perWindow(intervals.configurationsSeconds)) : 0;
  return { scheduled: Math.ceil(scheduled), connections: Math.ceil(connections), configurations, total: Math.ceil(scheduled + connections) + configurations };
}

/** The share of the budget configuration reads may use (sources/configurations/reader.ts): behind the lists and the connections refresh. */
const CONFIGURATIONS_SHARE = 0.1;

/** Configuration reads' pace: CONFIGURATIONS_SHARE of the budget per window, that many at once at most. */
export function configurationsPace(budget: number): Pace {
  const share = Math.max(1, Math.floor(budget * CONFIGURATIONS_SHARE));
  return { perSecond: share / WINDOW_SECONDS, burst: share };
}

/** Requests per window kept for remediation: REMEDIATION_MAX_ACTIONS_PER_HOUR spread over the hour, and one more. */
export function remediationReserve(maxActionsPerHour: number): number {
  return Math.ceil((REQUESTS_PER_ACTION * maxActionsPerHour) / WINDOWS_PER_HOUR) + 1;
}

/**
 * The refresh's pace from what the priority lane keeps: a fleet that fits gets its first complete
 * picture at once; one that does not is read evenly, so a changed tunnel finds a slot within
 * seconds, not when the window moves on.
 */
export function refreshPace(budget: number, reserved: number, connectionsNeeded: number): Pace {
  const share = Math.max(0, budget - reserved);
  return { perSecond: share / WINDOW_SECONDS, burst: connectionsNeeded <= share ? share : Math.max(1, Math.ceil(share / SPREAD_BURST_DIVISOR)) };
}

export interface CloudflareBudgetOptions {
  budget: number;
  intervals: PollIntervals;
  /** Accounts configured (each is listed and polled for Gateway). */
  accounts: number;
  /** Tunnels per list page. */
  perPage: number;
  /** Requests per window kept for remediation (0 when it is off). */
  remediationReserve: number;
  /** TUNNELS_SCHEDULE, for the warning. */
  tunnelsSchedule: string;
  /** TOTAL_SHARDS: the shards share the token's requests (the warning says so). */
  shards?: number;
  /** The snapshot at start: until the first list, one page per account. */
  snapshot: Snapshot;
  log: Logger;
  now: () => number;
}

export interface CloudflareBudget {
  /** Requests per window (CLOUDFLARE_API_BUDGET). */
  budget: number;
  /** The sliding window every Cloudflare request goes through. */
  pacer: Pacer;
  /** The connections refresh's pace now. */
  pace(): Pace;
  estimate(): RequestEstimate;
  /** A new tunnel list: the estimate follows the fleet, and says so when it is over the budget. */
  update(snapshot: Snapshot): void;
}

export function createCloudflareBudget(options: CloudflareBudgetOptions): CloudflareBudget {
  const { budget, intervals, accounts, perPage, log, now } = options;
  let estimate = estimateCloudflareRequests(options.snapshot, intervals, now(), perPage, accounts);
  const reserved = () => Math.min(budget, estimate.scheduled + options.remediationReserve);
  let warnedEstimate = 0;
  const pacer = createPacer({ budget, windowMs: CLOUDFLARE_WINDOW_MS, marginMs: GRANT_MARGIN_MS, reserved, now });
  const update = (snapshot: Snapshot) => {
    estimate = estimateCloudflareRequests(snapshot, intervals, now(), perPage, accounts);
    if (estimate.total <= budget || Math.abs(estimate.total - warnedEstimate) <= warnedEstimate * WARN_AGAIN_CHANGE) return;
    warnedEstimate = estimate.total;
    log.warn(
      {
        estimated_requests_per_5m: estimate.total,
        scheduled_per_5m: estimate.scheduled,
        connections_per_5m: estimate.connections,
        budget,
        tunnels_schedule: options.tunnelsSchedule,
        ...((options.shards ?? 1) > 1
          ? {
              total_shards: options.shards,
              note: 'the shards share the token: CLOUDFLARE_API_BUDGET is per shard, and its default is 300 divided among the shards',
            }
          : {}),
      },
      estimate.scheduled > budget
        ? 'the list polls alone need more Cloudflare requests than CLOUDFLARE_API_BUDGET allows: tunnel status is polled less often than TUNNELS_SCHEDULE and no connections are read; raise the budget (a share of CLOUDFLARE_API_LIMIT, what Cloudflare allows the user: 1200 unless raised) or slow TUNNELS_SCHEDULE'
        : 'the schedules need more Cloudflare requests than CLOUDFLARE_API_BUDGET allows: tunnel status stays fresh, connections are refreshed within what is left, oldest first; raise the budget (a share of CLOUDFLARE_API_LIMIT, what Cloudflare allows the user: 1200 unless raised) or slow TUNNELS_SCHEDULE for fresher connections',
    );
  };
  return {
    budget,
    pacer,
    pace: () => refreshPace(budget, reserved(), estimate.connections),
    estimate: () => estimate,
    update,
  };
}
