// The PostHog proxy record families, one table entry each (domain/family.ts), made from one
// organization's records at a time. Pure.
import { type Family, stateSet, whenSet } from '../../domain/family.js';
import { PROXY_RECORD_STATUSES, type ProxyRecord, type ProxyRecords } from '../../domain/types.js';

export interface OrganizationRecords {
  organizationId: string;
  data: ProxyRecords;
}

const R = ['organization_id', 'record_id', 'domain'] as const;

/** Per record: the values of R and the record. */
function eachRecord(o: OrganizationRecords, each: (values: readonly string[], record: ProxyRecord) => void): void {
  for (const r of o.data.records) each([o.organizationId, r.id, r.domain], r);
}

/** `polled` ends every HELP: how often the records are read. */
export function proxyRecordFamilies(polled: string): Family<OrganizationRecords>[] {
  return [
    {
      name: 'posthog_proxy_record_info',
      help: `PostHog managed reverse proxy record metadata; always 1. ${polled}`,
      type: 'gauge',
      labels: [...R, 'target_cname'],
      samples: (o, emit) => eachRecord(o, (values, r) => emit(values, 1, r.targetCname)),
    },
    {
      name: 'posthog_proxy_record_status',
      help: `Proxy record status as a state set: 1 for the current status (waiting, issuing, valid, warning, erroring, deleting, timed_out, unknown), 0 for the others. ${polled}`,
      type: 'gauge',
      labels: [...R, 'status'],
      samples: (o, emit) => eachRecord(o, (values, r) => stateSet(emit, values, PROXY_RECORD_STATUSES, r.status)),
    },
    {
      name: 'posthog_proxy_record_created_timestamp_seconds',
      help: `When the proxy record was created, in Unix seconds. ${polled}`,
      type: 'gauge',
      labels: R,
      samples: (o, emit) => eachRecord(o, (values, r) => whenSet(emit, values, r.createdAt)),
    },
    {
      name: 'posthog_proxy_record_updated_timestamp_seconds',
      help: `When the proxy record last changed, in Unix seconds. ${polled}`,
      type: 'gauge',
      labels: R,
      samples: (o, emit) => eachRecord(o, (values, r) => whenSet(emit, values, r.updatedAt)),
    },
    {
      name: 'posthog_proxy_records_max',
      help: `Proxy records the organization's plan allows (max_proxy_records); absent when the server does not report it. ${polled}`,
      type: 'gauge',
      labels: ['organization_id'],
      samples: (o, emit) => o.data.maxProxyRecords !== undefined && emit([o.organizationId], o.data.maxProxyRecords),
    },
  ];
}
