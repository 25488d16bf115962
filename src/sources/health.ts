// Per-collector poll health from the snapshot: success, duration and last success, per scope.
import { toWall } from '../clock.js';
import { addSample, type Families, seconds } from '../domain/family.js';
import { COLLECTORS, type Snapshot } from '../snapshot/store.js';

export function collectCollectorMetrics(snapshot: Snapshot, families: Families): void {
  for (const collector of COLLECTORS) {
    for (const [scope, entry] of snapshot[collector]) {
      const labels = { collector, scope };
      addSample(families, 'cloudflare_tunnel_exporter_collector_success', labels, entry.last.ok ? 1 : 0);
      addSample(families, 'cloudflare_tunnel_exporter_collector_duration_seconds', labels, entry.last.durationSeconds);
      if (entry.lastSuccessAt !== undefined) {
        addSample(families, 'cloudflare_tunnel_exporter_collector_last_success_timestamp_seconds', labels, seconds(toWall(entry.lastSuccessAt)));
      }
    }
  }
}
