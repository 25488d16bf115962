// Zero Trust Gateway proxy endpoint series from the snapshot, rendered when it changes (never at scrape time). Pure.

import { addSample, type Families } from '../../domain/family.js';
import { freshData, type Snapshot } from '../../snapshot/store.js';

export function collectGatewayMetrics(snapshot: Snapshot, now: number, maxAgeMs: number, families: Families): void {
  for (const entry of snapshot.gateway_proxy_endpoints.values()) {
    for (const e of freshData(entry, now, maxAgeMs) ?? []) {
      addSample(
        families,
        'cloudflare_gateway_proxy_endpoint_info',
        { account_id: e.accountId, endpoint_id: e.id, name: e.name, kind: e.kind, subdomain: e.subdomain },
        1,
      );
      addSample(families, 'cloudflare_gateway_proxy_endpoint_ip_ranges', { account_id: e.accountId, endpoint_id: e.id, name: e.name }, e.ipRanges);
    }
  }
}
