// The failed proxy record action's policy. A record in `erroring` or `timed_out` is repaired by
// one of two methods (PROXY_RECORD_RETRY_METHOD):
// - recreate (the default): only endpoints a personal API key may call (organization:write, and
//   an organization admin's key). Re-read the record; journal it durably; DELETE it; create the
//   same domain once the old record is gone; compare target_cname; clear the journal. A journal
//   entry is a domain that may have no record: it stays until a record for that domain with a
//   **different id** is seen, whatever went wrong (a DELETE whose outcome is unknown, the deleted
//   record still listed as `deleting`, a create refused), and is finished as a candidate of its
//   own through the same pipeline, with its own back-off that never gives up.
// - retry: POST retry/. PostHog's retry action declares no API scope, so PostHog refuses every
//   token credential on it (403 "This action does not support personal API key access";
//   posthog/permissions.py). That refusal is recognised once per organization: logged with the
//   alternative, counted as `credential_not_allowed`, and retry/ is not sent there again until
//   the configuration changes (a restart).
// A member-level key is refused create, delete and retry (403 "Your organization access level is
// insufficient."): `not_org_admin`, logged once per organization with the fix, not retried.
// Cooldowns, attempts and back-off are keyed by organization and domain: a recreated record has a
// new id, and one that errors again at once (its DNS still wrong) must wait for its cooldown.

import { formatDuration } from '../config/duration.js';
import type { ProxyRecordRetryMethod, RemediationMode } from '../config/schema.js';
import type { PollIntervals, RemediationCounters } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { Snapshot } from '../snapshot/store.js';
import { type ApiProxyRecord, createProxyRecord, deleteProxyRecord, getProxyRecord, listProxyRecords, retryProxyRecord } from '../sources/proxy-records/api.js';
import { ApiCredentialNotAllowedError, ApiNotFoundError, ApiNotOrgAdminError, changedNothing } from '../transport/errors.js';
import type { ApiClient } from '../transport/http.js';
import { findFailedProxyRecords, RETRY_PROXY_RECORD, RETRYABLE_RECORD_STATUSES } from './detect.js';
import { type ActionPolicy, type ActResult, type Blocker, type Candidate, type Recheck, SKIP_REASONS, sourceProblem } from './pipeline.js';
import type { JournalEntry, RemediationState } from './state-file.js';

const MAX_RECORD_ATTEMPTS = 5;
const MAX_RECORD_BACKOFF_MS = 24 * 3_600_000;

/** Back-off per record: REMEDIATION_COOLDOWN, doubling per attempt, at most 24h. */
export function recordBackoffMs(cooldownMs: number, attempts: number): number {
  return Math.min(cooldownMs * 2 ** Math.max(0, attempts - 1), MAX_RECORD_BACKOFF_MS);
}

/**
 * Back-off of a journal entry's retries: one proxy-records interval, doubling, at most
 * REMEDIATION_COOLDOWN. Shorter than a record's: the domain serves nothing until it is back.
 */
function journalBackoffMs(intervalMs: number, cooldownMs: number, attempts: number): number {
  return Math.min(intervalMs * 2 ** Math.max(0, attempts - 1), cooldownMs);
}

function recordKey(organizationId: string, domain: string): string {
  return `record:${organizationId}/${domain}`;
}

function journalKey(organizationId: string, domain: string): string {
  return `journal:${organizationId}/${domain}`;
}

/** Compared without case and without the final dot: `x.proxy.posthog.com.` is `x.proxy.posthog.com`. */
function sameTargetCname(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

/** A failed record, or a journal entry to finish, with what the blockers look at. */
export interface RecordTarget {
  organizationId: string;
  recordId: string;
  domain: string;
  /** A journal entry: the record was deleted and the domain is not back. */
  journaled: boolean;
  /** The organization's record count and quota, when recreating would go past it. */
  overQuota?: { records: number; max: number };
}

export interface ProxyRecordPolicyOptions {
  mode: RemediationMode;
  method: ProxyRecordRetryMethod;
  client: ApiClient;
  cooldownMs: number;
  intervals: PollIntervals;
  state: RemediationState;
  counters: RemediationCounters;
  log: Logger;
  snapshot: () => Snapshot;
  now: () => number;
}

export function proxyRecordPolicy(options: ProxyRecordPolicyOptions): ActionPolicy<RecordTarget> {
  return new ProxyRecordRepair(options).policy();
}

/** The policy's state: what PostHog refused per organization; the journal lives in the remediation state. */
class ProxyRecordRepair {
  private readonly client: ApiClient;
  private readonly state: RemediationState;
  private readonly log: Logger;
  /** Organizations where PostHog refused retry/ to this credential. */
  private readonly refused = new Set<string>();
  /** Organizations where the key's user is not an admin. */
  private readonly notAdmin = new Set<string>();

  /** In the order the pipeline asks them: what PostHog refused to this key, then the quota. */
  private readonly blockers: Blocker<RecordTarget>[] = [
    {
      skip: 'not_org_admin',
      check: (c) =>
        this.notAdmin.has(c.subject.organizationId)
          ? "PostHog refused this key's user as below organization admin; use an admin's personal API key"
          : undefined,
    },
    {
      skip: 'credential_not_allowed',
      check: (c) =>
        this.options.method === 'retry' && !c.subject.journaled && this.refused.has(c.subject.organizationId)
          ? 'PostHog refused retry/ to this credential in this organization; set PROXY_RECORD_RETRY_METHOD=recreate'
          : undefined,
    },
    {
      skip: 'over_quota',
      check: ({ subject: { overQuota } }) =>
        overQuota
          ? `the organization has ${overQuota.records} records and max_proxy_records is ${overQuota.max}: PostHog would refuse the create after the delete, losing the domain`
          : undefined,
    },
  ];

  constructor(private readonly options: ProxyRecordPolicyOptions) {
    this.client = options.client;
    this.state = options.state;
    this.log = options.log;
    this.publish();
  }

  policy(): ActionPolicy<RecordTarget> {
    return {
      action: RETRY_PROXY_RECORD,
      mode: this.options.mode,
      trigger: 'proxy_records',
      skipReasons: SKIP_REASONS.filter((x) => !['blast_radius', 'no_active_sibling'].includes(x)),
      maxAttempts: MAX_RECORD_ATTEMPTS,
      cooldownMs: (attempts) => recordBackoffMs(this.options.cooldownMs, attempts),
      sourceProblem: (snapshot, organizationId, now) =>
        sourceProblem([snapshot.proxy_records.get(organizationId)], now, 2 * this.options.intervals.proxyRecordsSeconds * 1000),
      blockers: this.blockers,
      prepare: (organizationId) => this.prepare(organizationId),
      candidates: (snapshot, organizationId) => this.candidates(snapshot, organizationId),
      recheck: (c, signal) => this.recheck(c, signal),
    };
  }

  private journalBackoff(attempts: number): number {
    return journalBackoffMs(this.options.intervals.proxyRecordsSeconds * 1000, this.options.cooldownMs, attempts);
  }

  private publish() {
    this.options.counters.dnsChangesRequired(
      this.state.dnsChanges().map((c) => ({ organizationId: c.organizationId, domain: c.domain, targetCname: c.newTargetCname })),
    );
    this.options.counters.recreatesPending(this.state.journal());
  }

  /** Compares the target after a recreate with the one before; a change needs the user's DNS. */
  private compareTarget(organizationId: string, domain: string, oldTargetCname: string, record: ApiProxyRecord) {
    const newTargetCname = record.target_cname ?? '';
    if (sameTargetCname(newTargetCname, oldTargetCname)) return false;
    this.state.addDnsChange({ organizationId, domain, oldTargetCname, newTargetCname, at: this.options.now() });
    this.log.error(
      { action: RETRY_PROXY_RECORD, organization_id: organizationId, domain, old_target_cname: oldTargetCname, new_target_cname: newTargetCname },
      `proxy record recreated with a new CNAME target: point ${domain} at ${newTargetCname} in DNS`,
    );
    return true;
  }

  /** The domain is back under a new record: close its journal entry. */
  private async finish(entry: JournalEntry, record: ApiProxyRecord, created: boolean) {
    const changed = this.compareTarget(entry.organizationId, entry.domain, entry.oldTargetCname, record);
    this.state.clearJournal(entry.organizationId, entry.domain);
    this.state.forget(journalKey(entry.organizationId, entry.domain));
    this.publish();
    await this.state.save();
    this.log.info(
      {
        action: RETRY_PROXY_RECORD,
        organization_id: entry.organizationId,
        domain: entry.domain,
        old_record_id: entry.oldId,
        record_id: record.id,
        created,
        target_cname_changed: changed,
      },
      'proxy record recreate finished',
    );
    return { done: true as const, evidence: { method: 'recreate', new_record_id: record.id, created, target_cname_changed: changed } };
  }

  /** A member-level key: logged once per organization, then the guard holds every candidate there. */
  private refuseNotAdmin(organizationId: string, err: ApiNotOrgAdminError): ActResult {
    if (!this.notAdmin.has(organizationId)) {
      this.notAdmin.add(organizationId);
      this.log.error(
        { action: RETRY_PROXY_RECORD, organization_id: organizationId, detail: 'Your organization access level is insufficient.', err: err.message },
        'PostHog refuses proxy record writes to this key: its user is not an admin of the organization. Use a personal API key of an organization admin (scopes organization:read and organization:write); nothing more is sent to this organization until a restart',
      );
    }
    return { notTaken: 'not_org_admin', reason: 'the key belongs to a member below admin: PostHog refuses create, delete and retry' };
  }

  /**
   * After the DELETE: the old record gone and no record for the domain, create it; the domain back
   * under another id, done; the old record still listed (deleting, or a lagging read), wait.
   */
  private async completeRecreate(entry: JournalEntry, signal: AbortSignal): Promise<ActResult> {
    const records = (await listProxyRecords(this.client, entry.organizationId, signal)).records;
    const back = records.find((r) => r.domain === entry.domain && r.id !== entry.oldId);
    if (back) return this.finish(entry, back, false);
    if (records.some((r) => r.id === entry.oldId)) {
      return {
        done: true,
        evidence: { method: 'recreate', create_pending: 'the deleted record is still listed; the journal creates the domain once it is gone' },
      };
    }
    try {
      return await this.finish(entry, await createProxyRecord(this.client, entry.organizationId, entry.domain, signal), true);
    } catch (err) {
      if (err instanceof ApiNotOrgAdminError) this.refuseNotAdmin(entry.organizationId, err);
      // The journal stays, and its own candidate retries it. The first retry waits one back-off
      // too, unless the exporter is stopping (the next start should finish it at once).
      const key = journalKey(entry.organizationId, entry.domain);
      if (!signal.aborted && this.state.target(key) === undefined) this.state.recordAttempt(key, this.options.now(), (n) => this.journalBackoff(n));
      throw new Error(`${entry.domain} was deleted and its create failed: the journal keeps it and retries with back-off (${(err as Error).message})`, {
        cause: err,
      });
    }
  }

  /** DELETE, then the rest; a DELETE whose outcome is unknown keeps the journal for the next cycle. */
  private async deleteThenComplete(entry: JournalEntry, signal: AbortSignal): Promise<ActResult> {
    try {
      await deleteProxyRecord(this.client, entry.organizationId, entry.oldId, signal);
    } catch (err) {
      if (err instanceof ApiNotFoundError) return this.completeRecreate(entry, signal);
      if (changedNothing(err)) {
        // The server refused it: the record is as it was, nothing to finish.
        this.state.clearJournal(entry.organizationId, entry.domain);
        this.publish();
        await this.state.save();
        if (err instanceof ApiNotOrgAdminError) return this.refuseNotAdmin(entry.organizationId, err);
        throw err;
      }
      throw new Error(
        `DELETE of ${entry.domain}'s record has an unknown outcome: the journal keeps the domain and the next cycle re-reads and finishes (${(err as Error).message})`,
        {
          cause: err,
        },
      );
    }
    return this.completeRecreate(entry, signal);
  }

  private async recreate(organizationId: string, current: ApiProxyRecord, signal: AbortSignal): Promise<ActResult> {
    const entry = { organizationId, domain: current.domain, oldId: current.id, oldTargetCname: current.target_cname ?? '', at: this.options.now() };
    // Durably, before anything else: a crash after the DELETE must not lose the domain.
    this.state.addJournal(entry);
    this.publish();
    await this.state.save();
    return this.deleteThenComplete(entry, signal);
  }

  /** Re-reads what a journal entry is waiting for and says what finishes it. */
  private async recheckJournal(entry: JournalEntry, signal: AbortSignal): Promise<Recheck> {
    let records: ApiProxyRecord[];
    try {
      records = (await listProxyRecords(this.client, entry.organizationId, signal)).records;
    } catch (err) {
      return { skip: 'recheck_failed', error: (err as Error).message };
    }
    const back = records.find((r) => r.domain === entry.domain && r.id !== entry.oldId);
    if (back) {
      await this.finish(entry, back, false);
      return { skip: 'resolved', reason: `the domain is back (record ${back.id})` };
    }
    const old = records.find((r) => r.id === entry.oldId);
    if (old?.status === 'deleting')
      return { skip: 'delete_pending', reason: 'the deleted record is still listed as deleting: the create waits until it is gone' };
    if (old && !RETRYABLE_RECORD_STATUSES.has(old.status ?? '')) {
      // The DELETE never took effect and the record recovered on its own: nothing was lost.
      this.state.clearJournal(entry.organizationId, entry.domain);
      this.state.forget(journalKey(entry.organizationId, entry.domain));
      this.publish();
      await this.state.save();
      return { skip: 'resolved', reason: `the record was not deleted and is ${old.status}` };
    }
    return old
      ? { act: (s) => this.deleteThenComplete(entry, s), evidence: { journal: 'the record is still there: deleting it again' } }
      : { act: (s) => this.completeRecreate(entry, s), evidence: { journal: 'the domain has no record: creating it' } };
  }

  private async retry(organizationId: string, current: ApiProxyRecord, signal: AbortSignal): Promise<ActResult> {
    try {
      await retryProxyRecord(this.client, organizationId, current.id, signal);
      return { done: true, evidence: { method: 'retry' } };
    } catch (err) {
      if (err instanceof ApiNotOrgAdminError) return this.refuseNotAdmin(organizationId, err);
      if (!(err instanceof ApiCredentialNotAllowedError)) throw err;
      this.refused.add(organizationId);
      this.log.error(
        { action: RETRY_PROXY_RECORD, organization_id: organizationId, detail: err.detail },
        'PostHog refuses this credential on proxy record retry/ (the action accepts no personal API key, whatever its scopes): no retry/ is sent to this organization until the configuration changes; set PROXY_RECORD_RETRY_METHOD=recreate (the default) to repair records with organization:write endpoints instead',
      );
      return { notTaken: 'credential_not_allowed', reason: `PostHog refused retry/: "${err.detail}"` };
    }
  }

  private journalCandidate(entry: JournalEntry): Candidate<RecordTarget> {
    return {
      key: journalKey(entry.organizationId, entry.domain),
      subject: { organizationId: entry.organizationId, recordId: entry.oldId, domain: entry.domain, journaled: true },
      target: { organization_id: entry.organizationId, record_id: entry.oldId, domain: entry.domain },
      reason: `finishing a recreate: the record was deleted ${formatDuration(Math.max(0, this.options.now() - entry.at))} ago and the domain has no record yet`,
      evidence: { method: 'recreate', journaled_at: new Date(entry.at).toISOString(), old_target_cname: entry.oldTargetCname },
      finishing: { cooldownMs: (n) => this.journalBackoff(n) },
    };
  }

  private async prepare(organizationId: string): Promise<void> {
    const entry = this.options.snapshot().proxy_records.get(organizationId);
    const records = entry?.last.ok ? entry.data?.records : undefined;
    if (!records) return;
    // A record seen valid again starts over, and its DNS is right: forget attempts and changes.
    const byDomain = new Map(records.map((r) => [r.domain, r]));
    for (const r of records) if (r.status === 'valid') this.state.forget(recordKey(organizationId, r.domain));
    // A required DNS change is done once the record is valid, and moot once its domain is gone
    // (unless a journal entry is about to bring it back).
    const journaled = new Set(
      this.state
        .journal()
        .filter((e) => e.organizationId === organizationId)
        .map((e) => e.domain),
    );
    const before = this.state.dnsChanges().length;
    for (const c of this.state.dnsChanges()) {
      if (c.organizationId !== organizationId) continue;
      const record = byDomain.get(c.domain);
      if (record?.status === 'valid' || (!record && !journaled.has(c.domain))) this.state.clearDnsChange(organizationId, c.domain);
    }
    if (this.state.dnsChanges().length !== before) this.publish();
  }

  private candidates(snapshot: Snapshot, organizationId: string): Candidate<RecordTarget>[] {
    const data = snapshot.proxy_records.get(organizationId)?.data;
    const records = data?.records ?? [];
    const journal = this.state.journal().filter((e) => e.organizationId === organizationId);
    const journaled = new Set(journal.map((e) => e.domain));
    const failed = findFailedProxyRecords(snapshot, organizationId)
      .filter((record) => !journaled.has(record.domain))
      .map((record): Candidate<RecordTarget> => {
        const key = recordKey(organizationId, record.domain);
        const attempts = this.state.target(key)?.attempts ?? 0;
        const max = data?.maxProxyRecords;
        const overQuota = this.options.method === 'recreate' && max !== undefined && records.length > max;
        return {
          key,
          subject: {
            organizationId,
            recordId: record.id,
            domain: record.domain,
            journaled: false,
            ...(overQuota ? { overQuota: { records: records.length, max } } : {}),
          },
          target: { organization_id: organizationId, record_id: record.id, domain: record.domain },
          reason: `proxy record is ${record.status}`,
          evidence: { status: record.status, attempts, method: this.options.method, ...(record.message ? { message: record.message } : {}) },
        };
      });
    return [...journal.map((e) => this.journalCandidate(e)), ...failed];
  }

  private async recheck(c: Candidate<RecordTarget>, signal: AbortSignal): Promise<Recheck> {
    const { organizationId, recordId, domain } = c.subject;
    if (c.subject.journaled) {
      const entry = this.state.journal().find((e) => e.organizationId === organizationId && e.domain === domain);
      return entry ? this.recheckJournal(entry, signal) : { skip: 'resolved', reason: 'the journal entry was finished' };
    }
    let current: ApiProxyRecord;
    try {
      current = await getProxyRecord(this.client, organizationId, recordId, signal);
    } catch (err) {
      if (err instanceof ApiNotFoundError) return { skip: 'resolved', reason: 'the record is gone' };
      return { skip: 'recheck_failed', error: (err as Error).message };
    }
    if (!RETRYABLE_RECORD_STATUSES.has(current.status ?? '')) return { skip: 'resolved', reason: `on re-read the record is ${current.status}` };
    return { act: (s) => (this.options.method === 'recreate' ? this.recreate(organizationId, current, s) : this.retry(organizationId, current, s)) };
  }
}
