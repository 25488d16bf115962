// How many Cloudflare requests per 5 minutes the configured schedules cost for the fleet last
// seen, so a budget that is too small is reported plainly instead of only as skipped rounds.
import type { PollIntervals } from '../domain/types.js';
import type { Snapshot } from '../state/store.js';
import { needsConnectionsCall, tunnelListCalls } from './tunnels.js';

const WINDOW_SECONDS = 300;

export function estimateCloudflareRequests(snapshot: Snapshot, intervals: PollIntervals, now: number): number {
  let total = 0;
  for (const entry of snapshot.tunnels.values()) {
    const tunnels = entry.data ?? [];
    const calls = tunnelListCalls(tunnels) + tunnels.filter((t) => needsConnectionsCall(t, now)).length;
    // Every account is also polled for Gateway proxy endpoints, one call each time.
    total += calls * (WINDOW_SECONDS / intervals.tunnelsSeconds) + WINDOW_SECONDS / intervals.gatewaySeconds;
  }
  return Math.ceil(total);
}
