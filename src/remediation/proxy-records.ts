// The failed proxy record action's policy. A record in `erroring` or `timed_out` is repaired by
// one of two methods (PROXY_RECORD_RETRY_METHOD):
// - retry: POST retry/. PostHog's retry action declares no API scope, so PostHog refuses personal
//   API keys on it (403 "This action does not support personal API key access";
//   posthog/permissions.py). That refusal is recognised once per organization: logged with the
//   alternative, counted as `credential_not_allowed`, and retry/ is not sent there again until
//   the configuration changes (a restart).
// - recreate: only scoped endpoints (organization:write). Re-read the record; journal it (durably)
//   before anything else; DELETE it (PostHog deletes erroring/timed_out records at once); check the
//   domain is not already back; create it again; compare the new target_cname with the old; clear
//   the journal. A journal entry left by a failed create or a crash is finished on the next cycle.
//   A changed target_cname means the user must change DNS: logged as an error and exposed as
//   posthog_proxy_record_dns_change_required until the record is seen valid.
// Cooldowns, attempts and back-off are keyed by organization and domain: a recreated record has a
// new id, and one that errors again at once (its DNS still wrong) must wait for its cooldown.
import { ApiCredentialNotAllowedError, ApiNotFoundError } from '../clients/errors.js';
import type { ApiClient } from '../clients/http.js';
import {
  type ApiProxyRecord,
  createProxyRecord,
  deleteProxyRecord,
  getProxyRecord,
  listProxyRecords,
  retryProxyRecord,
} from '../clients/posthog/proxy-records.js';
import type { ProxyRecordRetryMethod, RemediationMode } from '../config/schema.js';
import type { PollIntervals, RemediationCounters } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { Snapshot } from '../state/store.js';
import { type ActionPolicy, type ActResult, type Candidate, type Recheck, SKIP_REASONS, sourceProblem } from './pipeline.js';
import { findFailedProxyRecords, RETRY_PROXY_RECORD, RETRYABLE_RECORD_STATUSES } from './policies.js';
import type { JournalEntry, RemediationState } from './state.js';

const MAX_RECORD_ATTEMPTS = 5;
const MAX_RECORD_BACKOFF_MS = 24 * 3_600_000;

/** Back-off per record: REMEDIATION_COOLDOWN, doubling per attempt, at most 24h. */
export function recordBackoffMs(cooldownMs: number, attempts: number): number {
  return Math.min(cooldownMs * 2 ** Math.max(0, attempts - 1), MAX_RECORD_BACKOFF_MS);
}

function recordKey(organizationId: string, domain: string): string {
  return `record:${organizationId}/${domain}`;
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

export function proxyRecordPolicy(options: ProxyRecordPolicyOptions): ActionPolicy {
  const { client, state, log } = options;
  /** Organizations where PostHog refused retry/ to this credential. */
  const refused = new Set<string>();

  const publishDnsChanges = () =>
    options.counters.dnsChangesRequired(state.dnsChanges().map((c) => ({ organizationId: c.organizationId, domain: c.domain, targetCname: c.newTargetCname })));
  publishDnsChanges();

  /** Compares the target after a recreate with the one before; a change needs the user's DNS. */
  const compareTarget = (organizationId: string, domain: string, oldTargetCname: string, record: ApiProxyRecord) => {
    const newTargetCname = record.target_cname ?? '';
    if (newTargetCname === oldTargetCname) return false;
    state.addDnsChange({ organizationId, domain, oldTargetCname, newTargetCname, at: options.now() });
    publishDnsChanges();
    log.error(
      { action: RETRY_PROXY_RECORD, organization_id: organizationId, domain, old_target_cname: oldTargetCname, new_target_cname: newTargetCname },
      `proxy record recreated with a new CNAME target: point ${domain} at ${newTargetCname} in DNS`,
    );
    return true;
  };

  /** The record for `domain` as PostHog has it now, or a new one: never two for one domain. */
  const ensureRecord = async (organizationId: string, domain: string, signal: AbortSignal): Promise<{ record: ApiProxyRecord; created: boolean }> => {
    const existing = (await listProxyRecords(client, organizationId, signal)).records.find((r) => r.domain === domain);
    if (existing) return { record: existing, created: false };
    return { record: await createProxyRecord(client, organizationId, domain, signal), created: true };
  };

  /** Finishes a recreate that a failed create or a crash left between its DELETE and its create. */
  const finishJournal = async (entry: JournalEntry, signal: AbortSignal) => {
    try {
      const { record, created } = await ensureRecord(entry.organizationId, entry.domain, signal);
      const changed = compareTarget(entry.organizationId, entry.domain, entry.oldTargetCname, record);
      state.clearJournal(entry.organizationId, entry.domain);
      await state.save();
      log.info(
        {
          action: RETRY_PROXY_RECORD,
          organization_id: entry.organizationId,
          domain: entry.domain,
          old_record_id: entry.oldId,
          record_id: record.id,
          created,
          target_cname_changed: changed,
        },
        'proxy record recreate finished from the journal',
      );
    } catch (err) {
      log.error(
        { action: RETRY_PROXY_RECORD, organization_id: entry.organizationId, domain: entry.domain, err: (err as Error).message },
        'could not finish a proxy record recreate from the journal: trying again next cycle',
      );
    }
  };

  const recreate = async (organizationId: string, current: ApiProxyRecord, signal: AbortSignal): Promise<ActResult> => {
    const oldTargetCname = current.target_cname ?? '';
    // Durably, before anything else: a crash after the DELETE must not lose the domain.
    state.addJournal({ organizationId, domain: current.domain, oldId: current.id, oldTargetCname, at: options.now() });
    await state.save();
    try {
      await deleteProxyRecord(client, organizationId, current.id, signal);
    } catch (err) {
      if (!(err instanceof ApiNotFoundError)) {
        // Nothing was deleted: nothing to finish.
        state.clearJournal(organizationId, current.domain);
        throw err;
      }
    }
    const { record, created } = await ensureRecord(organizationId, current.domain, signal);
    const changed = compareTarget(organizationId, current.domain, oldTargetCname, record);
    state.clearJournal(organizationId, current.domain);
    return { done: true, evidence: { method: 'recreate', new_record_id: record.id, created, target_cname_changed: changed } };
  };

  const retry = async (organizationId: string, current: ApiProxyRecord, signal: AbortSignal): Promise<ActResult> => {
    try {
      await retryProxyRecord(client, organizationId, current.id, signal);
      return { done: true, evidence: { method: 'retry' } };
    } catch (err) {
      if (!(err instanceof ApiCredentialNotAllowedError)) throw err;
      refused.add(organizationId);
      log.error(
        { action: RETRY_PROXY_RECORD, organization_id: organizationId, detail: err.detail },
        'PostHog refuses this credential on proxy record retry/ (the action accepts no personal API key, whatever its scopes): no retry/ is sent to this organization until the configuration changes; set PROXY_RECORD_RETRY_METHOD=recreate to repair records with organization:write endpoints instead',
      );
      return { notTaken: 'credential_not_allowed', reason: `PostHog refused retry/: "${err.detail}"` };
    }
  };

  return {
    action: RETRY_PROXY_RECORD,
    mode: options.mode,
    trigger: 'proxy_records',
    skipReasons: SKIP_REASONS.filter((x) => !['blast_radius', 'no_active_sibling'].includes(x)),
    maxAttempts: MAX_RECORD_ATTEMPTS,
    cooldownMs: (attempts) => recordBackoffMs(options.cooldownMs, attempts),
    sourceProblem: (snapshot, organizationId, now) =>
      sourceProblem([snapshot.proxy_records.get(organizationId)], now, 2 * options.intervals.proxyRecordsSeconds * 1000),

    async prepare(organizationId, signal) {
      const entry = options.snapshot().proxy_records.get(organizationId);
      const records = entry?.last.ok ? entry.data?.records : undefined;
      if (records) {
        // A record seen valid again starts over, and its DNS is right: forget attempts and changes.
        const byDomain = new Map(records.map((r) => [r.domain, r]));
        for (const r of records) if (r.status === 'valid') state.forget(recordKey(organizationId, r.domain));
        // A required DNS change is done once the record is valid, and moot once its domain is gone
        // (unless a journal entry is about to bring it back).
        const journaled = new Set(
          state
            .journal()
            .filter((e) => e.organizationId === organizationId)
            .map((e) => e.domain),
        );
        const before = state.dnsChanges().length;
        for (const c of state.dnsChanges()) {
          if (c.organizationId !== organizationId) continue;
          const record = byDomain.get(c.domain);
          if (record?.status === 'valid' || (!record && !journaled.has(c.domain))) state.clearDnsChange(organizationId, c.domain);
        }
        if (state.dnsChanges().length !== before) publishDnsChanges();
      }
      if (options.mode !== 'on') return;
      for (const j of state.journal().filter((e) => e.organizationId === organizationId)) await finishJournal(j, signal);
    },

    candidates(snapshot: Snapshot, organizationId: string): Candidate[] {
      const data = snapshot.proxy_records.get(organizationId)?.data;
      const records = data?.records ?? [];
      return findFailedProxyRecords(snapshot, organizationId).map((record) => {
        const key = recordKey(organizationId, record.domain);
        const attempts = state.target(key)?.attempts ?? 0;
        const overQuota = options.method === 'recreate' && data?.maxProxyRecords !== undefined && records.length > data.maxProxyRecords;
        return {
          key,
          target: { organization_id: organizationId, record_id: record.id, domain: record.domain },
          reason: `proxy record is ${record.status}`,
          evidence: { status: record.status, attempts, method: options.method, ...(record.message ? { message: record.message } : {}) },
          ...(overQuota
            ? {
                blocked: {
                  skip: 'over_quota' as const,
                  reason: `the organization has ${records.length} records and max_proxy_records is ${data?.maxProxyRecords}: PostHog would refuse the create after the delete, losing the domain`,
                },
              }
            : {}),
        };
      });
    },

    guard(c) {
      if (options.method !== 'retry' || !refused.has(c.target.organization_id as string)) return undefined;
      return {
        skip: 'credential_not_allowed',
        reason: 'PostHog refused retry/ to this credential in this organization; set PROXY_RECORD_RETRY_METHOD=recreate',
      };
    },

    async recheck(c, signal): Promise<Recheck> {
      const { organization_id: organizationId, record_id: recordId } = c.target as Record<'organization_id' | 'record_id', string>;
      let current: ApiProxyRecord;
      try {
        current = await getProxyRecord(client, organizationId, recordId, signal);
      } catch (err) {
        if (err instanceof ApiNotFoundError) return { skip: 'resolved', reason: 'the record is gone' };
        return { skip: 'recheck_failed', error: (err as Error).message };
      }
      if (!RETRYABLE_RECORD_STATUSES.has(current.status ?? '')) return { skip: 'resolved', reason: `on re-read the record is ${current.status}` };
      return { act: (s) => (options.method === 'recreate' ? recreate(organizationId, current, s) : retry(organizationId, current, s)) };
    },
  };
}
