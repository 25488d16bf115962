// How many Cloudflare requests per 5 minutes the configured schedules need for the fleet last seen:
// the scheduled ones (tunnel list pages and Gateway, which have first claim on the budget) and the
// connections reads that would keep every tunnel's connections one interval fresh. The exporter
// reserves the scheduled share, gives the refresh the rest, warns when the total is over the budget
// and exposes both (cloudflare_tunnel_exporter_api_requests_needed_per_5m).
import type { PollIntervals } from '../domain/types.js';
import type { Snapshot } from '../state/store.js';
import { needsConnectionsCall } from './connections.js';
import { tunnelListCalls } from './tunnels.js';

const WINDOW_SECONDS = 300;

export interface RequestEstimate {
  /** Tunnel list pages and Gateway polls per 5 minutes. */
  scheduled: number;
  /** Connections reads per 5 minutes for every tunnel that can have connections, once an interval. */
  connections: number;
  total: number;
}

/** `accounts` counts accounts configured but not listed yet: each needs at least one page. */
export function estimateCloudflareRequests(snapshot: Snapshot, intervals: PollIntervals, now: number, accounts = snapshot.tunnels.size): RequestEstimate {
  const perWindow = (seconds: number) => WINDOW_SECONDS / seconds;
  let scheduled = 0;
  let connections = 0;
  for (const entry of snapshot.tunnels.values()) {
    const tunnels = entry.data ?? [];
    scheduled += tunnelListCalls(tunnels) * perWindow(intervals.tunnelsSeconds);
    connections += tunnels.filter((t) => needsConnectionsCall(t, now)).length * perWindow(intervals.tunnelsSeconds);
  }
  scheduled += Math.max(0, accounts - snapshot.tunnels.size) * perWindow(intervals.tunnelsSeconds);
  // Every account is also polled for Gateway proxy endpoints, one call each time.
  scheduled += accounts * perWindow(intervals.gatewaySeconds);
  return { scheduled: Math.ceil(scheduled), connections: Math.ceil(connections), total: Math.ceil(scheduled + connections) };
}
