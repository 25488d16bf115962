// PostHog proxy records as the exporter keeps them. Pure.
import { PROXY_RECORD_STATUSES, type ProxyRecord, type ProxyRecordStatus, type ProxyRecords } from '../../domain/types.js';
import { bounded, type Cuts, epochMs, noCuts, oneOf } from '../answer.js';
import type { ApiProxyRecord, ProxyRecordList } from './api.js';

function normalizeProxyRecord(organizationId: string, r: ApiProxyRecord, cuts: Cuts): ProxyRecord {
  const createdAt = epochMs(r.created_at);
  const updatedAt = epochMs(r.updated_at);
  return {
    organizationId,
    id: r.id,
    domain: bounded(r.domain, cuts),
    targetCname: bounded(r.target_cname ?? '', cuts),
    status: oneOf<ProxyRecordStatus>(PROXY_RECORD_STATUSES, r.status, 'unknown'),
    message: r.message || undefined,
    createdAt,
    updatedAt,
  };
}

export function normalizeProxyRecords(organizationId: string, list: ProxyRecordList, cuts: Cuts = noCuts()): ProxyRecords {
  return {
    records: list.records.map((r) => normalizeProxyRecord(organizationId, r, cuts)),
    maxProxyRecords: list.maxProxyRecords,
  };
}
