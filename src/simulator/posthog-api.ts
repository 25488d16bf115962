// The simulated PostHog proxy records API (posthog/api/proxy_record.py): `{results,
// max_proxy_records}` lists (older shapes on request), create refused at `max_proxy_records`,
// `target_cname` derived from organization and domain under a base that ends with a dot, create
// answered 201 (a missing or malformed domain: 400 with field errors), DELETE of a
// waiting/erroring/timed_out record at once (200 {"success": true}), retry only from erroring,
// timed_out or issuing, `retry/` and `diagnose/` refused to every API key (the actions declare no
// API scope), writes refused to a member below admin, `{"detail": ...}` errors, and the trailing
// slash optional.
import type http from 'node:http';
import { type Random, type SimFleet, type SimOrganization, type SimProxyRecord, setProxyRecordStatus, targetCname, uuid } from './fleet.js';
import type { PostHogPath } from './paths.js';
import { phError, type Reply } from './reply.js';
import type { Timeline } from './timeline.js';

export interface PostHogApiOptions {
  fleet: SimFleet;
  now: () => number;
  random: Random;
  timeline: Timeline;
  credentials: { posthogKey: string; posthogMemberKey: string };
  /** List shape: today's object, a bare array, or DRF pagination. */
  listShape?: 'current' | 'array' | 'paginated';
  pageSize?: number;
  /** True simulates a server that accepts a personal API key on retry/. */
  retryAcceptsApiKeys?: boolean;
  /** How long a deleted record stays listed as `deleting` after its DELETE was answered. */
  deleteLagMs?: number;
}

const PERSONAL_API_KEY_REFUSED = 'This action does not support personal API key access';
const DOMAIN = /^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$/;

export class PostHogApi {
  /** Deleted records still listed (deleteLagMs), with when they go. */
  private readonly lingering = new Map<SimProxyRecord, number>();

  constructor(private readonly o: PostHogApiOptions) {}

  handle(req: http.IncomingMessage, path: PostHogPath, url: URL, body: string): Reply {
    const method = req.method ?? 'GET';
    const member = req.headers.authorization === `Bearer ${this.o.credentials.posthogMemberKey}`;
    if (req.headers.authorization !== `Bearer ${this.o.credentials.posthogKey}` && !member) {
      return phError(401, 'Personal API key found in request Authorization header is invalid.');
    }
    // OrganizationAdminWritePermissions, checked before the object is looked up.
    if (member && method !== 'GET') return phError(403, 'Your organization access level is insufficient.');
    this.purgeDeleted();
    const { recordId, action } = path;
    const org = path.organizationId ? this.o.fleet.organizations.find((o) => o.id === path.organizationId) : undefined;
    const notFound = phError(404, 'Not found.');
    if (!org || path.resource !== 'proxy_records' || path.rest.length > 0) return notFound;
    if (!recordId && method === 'GET') return this.list(org, url);
    if (!recordId && method === 'POST') return this.create(org, body);
    const record = org.records.find((r) => r.id === recordId);
    if (!record) return notFound;
    if (!action && method === 'GET') return { status: 200, body: structuredClone(record) };
    if (!action && method === 'DELETE') return this.delete(org, record);
    // Like retry/, diagnose/ declares no API key scope: every token credential is refused.
    if (action === 'diagnose') return phError(403, PERSONAL_API_KEY_REFUSED);
    if (action === 'retry' && method === 'POST') return this.retry(record);
    return phError(405, `Method "${method}" not allowed.`);
  }

  private purgeDeleted(): void {
    for (const [record, goneAt] of this.lingering) {
      if (goneAt > this.o.now()) continue;
      this.lingering.delete(record);
      for (const o of this.o.fleet.organizations) o.records = o.records.filter((r) => r !== record);
    }
  }

  private list(org: SimOrganization, url: URL): Reply {
    const records = org.records.map((r) => structuredClone(r));
    const shape = this.o.listShape ?? 'current';
    if (shape === 'array') return { status: 200, body: records };
    if (shape === 'paginated') {
      const size = this.o.pageSize ?? 3;
      const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
      const next = offset + size < records.length ? `${url.origin}${url.pathname}?limit=${size}&offset=${offset + size}` : null;
      const previous = offset > 0 ? `${url.origin}${url.pathname}?limit=${size}&offset=${Math.max(0, offset - size)}` : null;
      return { status: 200, body: { count: records.length, next, previous, results: records.slice(offset, offset + size) } };
    }
    return { status: 200, body: { results: records, max_proxy_records: org.maxProxyRecords } };
  }

  private create(org: SimOrganization, body: string): Reply {
    if (org.records.length >= org.maxProxyRecords) return phError(400, `Maximum of ${org.maxProxyRecords} proxy records per organization.`);
    let input: { domain?: unknown; root_redirect_url?: unknown };
    try {
      input = JSON.parse(body || '{}') as typeof input;
    } catch {
      return phError(400, 'JSON parse error');
    }
    const { domain } = input;
    // The serializer's field errors, as Django REST framework words them.
    if (domain === undefined || domain === null || domain === '') return { status: 400, body: { domain: ['This field is required.'] } };
    if (typeof domain !== 'string' || !DOMAIN.test(domain)) return { status: 400, body: { domain: ['Enter a valid domain.'] } };
    // `domain` is unique across PostHog: a second record for it is a database error.
    if (this.o.fleet.organizations.some((o) => o.records.some((r) => r.domain === domain))) return phError(500, 'A server error occurred.');
    const at = new Date(this.o.now()).toISOString();
    const record: SimProxyRecord = {
      id: uuid(this.o.random),
      domain,
      target_cname: targetCname(org.id, domain, this.o.fleet.proxyBaseCname),
      status: 'waiting',
      message: null,
      created_at: at,
      updated_at: at,
      created_by: 1,
      root_redirect_url: typeof input.root_redirect_url === 'string' ? input.root_redirect_url : null,
    };
    org.records.unshift(record);
    this.o.timeline.markRetried(record.id);
    return { status: 201, body: structuredClone(record) };
  }

  /** Records that never got a certificate go at once (or after deleteLagMs); the others are torn down first. */
  private delete(org: SimOrganization, record: SimProxyRecord): Reply {
    const now = this.o.now();
    if (!['waiting', 'erroring', 'timed_out'].includes(record.status)) setProxyRecordStatus(record, 'deleting', now);
    else if (this.o.deleteLagMs) {
      setProxyRecordStatus(record, 'deleting', now);
      this.lingering.set(record, now + this.o.deleteLagMs);
    } else org.records = org.records.filter((r) => r !== record);
    return { status: 200, body: { success: true } };
  }

  private retry(record: SimProxyRecord): Reply {
    if (!this.o.retryAcceptsApiKeys) return phError(403, PERSONAL_API_KEY_REFUSED);
    if (!['erroring', 'timed_out', 'issuing'].includes(record.status)) return phError(400, `Cannot retry proxy in ${record.status} state.`);
    setProxyRecordStatus(record, 'waiting', this.o.now());
    this.o.timeline.markRetried(record.id);
    return { status: 200, body: structuredClone(record) };
  }
}
