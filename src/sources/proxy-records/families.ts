// PostHog proxy record series from the snapshot, rendered when it changes (never at scrape time). Pure.

import { addSample, addStateSet, type Families, seconds } from '../../domain/family.js';
import { PROXY_RECORD_STATUSES } from '../../domain/types.js';
import { freshData, type Snapshot } from '../../snapshot/store.js';

export function collectProxyRecordMetrics(snapshot: Snapshot, now: number, maxAgeMs: number, families: Families): void {
  for (const [organizationId, entry] of snapshot.proxy_records) {
    const data = freshData(entry, now, maxAgeMs);
    if (!data) continue;
    if (data.maxProxyRecords !== undefined) addSample(families, 'posthog_proxy_records_max', { organization_id: organizationId }, data.maxProxyRecords);
    for (const r of data.records) {
      const R = { organization_id: organizationId, record_id: r.id, domain: r.domain };
      addSample(families, 'posthog_proxy_record_info', { organization_id: organizationId, record_id: r.id, domain: r.domain, target_cname: r.targetCname }, 1);
      addStateSet(families, 'posthog_proxy_record_status', R, 'status', PROXY_RECORD_STATUSES, r.status);
      if (r.createdAt !== undefined) addSample(families, 'posthog_proxy_record_created_timestamp_seconds', R, seconds(r.createdAt));
      if (r.updatedAt !== undefined) addSample(families, 'posthog_proxy_record_updated_timestamp_seconds', R, seconds(r.updatedAt));
    }
  }
}
