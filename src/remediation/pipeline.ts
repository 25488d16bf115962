// The one remediation pipeline (after kured): every action runs its candidates through the same
// steps, and differs only in its policy (what it looks at, what blocks it, how it re-reads and
// acts). Steps: source fresh? the policy's blockers, in order (values, each with its skip reason)?
// attempts, cooldown, hourly budget? re-read the target and check again; record the action and
// persist it before the write (a kill mid-write must not let the restart repeat it; a state file
// that cannot be written means no write); act, or in dry-run don't; audit one log line; persist.

import type { RemediationMode } from '../config/schema.js';
import type { RemediationCounters } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { CollectorName, Snapshot, SourceEntry } from '../snapshot/store.js';
import { ApiNotFoundError } from '../transport/errors.js';
import type { RemediationAction } from './detect.js';
import type { RemediationState } from './state-file.js';

export const SKIP_REASONS = [
  'source_failed',
  'data_stale',
  'blast_radius',
  'no_active_sibling',
  'cooldown',
  'max_attempts',
  'hourly_limit',
  'resolved',
  'recheck_failed',
  'credential_not_allowed',
  'over_quota',
  'state_unwritable',
  'delete_pending',
  'not_org_admin',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** One target an action may act on: `subject` is the policy's own typed view of it. */
export interface Candidate<T> {
  /** The target's key in the remediation state (cooldowns, attempts). */
  key: string;
  subject: T;
  /** The target's ids and names, as the audit line and the landing page show them. */
  target: Record<string, string>;
  reason: string;
  evidence: Record<string, unknown>;
  /**
   * This candidate's own back-off, in place of the policy's: it finishes what an earlier action
   * left half done (a deleted proxy record's domain), so it never gives up, and a corrupt state
   * file's blanket cooldown does not hold it.
   */
  finishing?: { cooldownMs(attempts: number): number };
}

/** What a re-read decided: skip (the reason), or act (the write to send). */
export type Recheck =
  | { skip: SkipReason; reason?: string; error?: string }
  | { act: (signal: AbortSignal) => Promise<ActResult>; evidence?: Record<string, unknown> };

/** A write's outcome: done, or not taken after all (nothing changed: the action is taken back). */
export type ActResult = { done: true; evidence?: Record<string, unknown> } | { notTaken: SkipReason; reason: string };

/**
 * Something that stops a candidate before anything is read or written (kured's blockers): the
 * pipeline asks each in order; the first to give a reason skips the candidate with its `skip`.
 */
export interface Blocker<T> {
  skip: SkipReason;
  /** Why the candidate may not be acted on now; undefined when this blocker lets it through. */
  check(candidate: Candidate<T>): string | undefined;
}

/** The first blocker that stops the candidate, with its reason; undefined when none does. */
export function blockedBy<T>(blockers: readonly Blocker<T>[], candidate: Candidate<T>): { skip: SkipReason; reason: string } | undefined {
  for (const blocker of blockers) {
    const reason = blocker.check(candidate);
    if (reason !== undefined) return { skip: blocker.skip, reason };
  }
  return undefined;
}

export interface ActionPolicy<T> {
  action: RemediationAction;
  mode: RemediationMode;
  /** The collector whose new data this action runs after. */
  trigger: CollectorName;
  /** The skip reasons this action can count (their series start at 0). */
  skipReasons: readonly SkipReason[];
  /** Work that must happen before candidates are chosen (e.g. finishing a journal). */
  prepare?(scope: string, signal: AbortSignal): Promise<void>;
  /** Why the scope's data may not be acted on: its last poll failed, or it is too old. */
  sourceProblem(snapshot: Snapshot, scope: string, now: number): SkipReason | undefined;
  candidates(snapshot: Snapshot, scope: string): Candidate<T>[];
  /** Asked in order for every candidate, after the source and before attempts and cooldown. */
  blockers: readonly Blocker<T>[];
  /** Attempts after which the action gives up on a target; none when absent. */
  maxAttempts?: number;
  /** The cooldown after the n-th attempt. */
  cooldownMs(attempts: number): number;
  /** Re-reads the target right before acting. */
  recheck(candidate: Candidate<T>, signal: AbortSignal): Promise<Recheck>;
}

/** Whether entries allow acting: each one's last poll succeeded and its data is recent enough. */
export function sourceProblem(entries: (SourceEntry<unknown> | undefined)[], now: number, maxAgeMs: number): SkipReason | undefined {
  for (const entry of entries) {
    if (!entry?.last.ok) return 'source_failed';
    if (entry.lastSuccessAt === undefined || now - entry.lastSuccessAt > maxAgeMs) return 'data_stale';
  }
  return undefined;
}

/** The `mode` label of the remediation counters. */
export function countedMode(mode: RemediationMode): 'live' | 'dry_run' {
  return mode === 'on' ? 'live' : 'dry_run';
}

interface Decision {
  mode: RemediationMode;
  target: Record<string, string>;
  reason: string;
  evidence: Record<string, unknown>;
  outcome: 'done' | 'would_act' | 'skipped' | 'failed';
  skip?: SkipReason;
  error?: string;
}

/** A decision as the landing page shows it; the log line carries the evidence. */
export interface RecentDecision {
  at: number;
  action: RemediationAction;
  mode: RemediationMode;
  target: Record<string, string>;
  outcome: Decision['outcome'];
  reason: string;
  skip?: SkipReason;
}

const RECENT_DECISIONS = 20;

export interface PipelineOptions {
  snapshot: () => Snapshot;
  state: RemediationState;
  counters: RemediationCounters;
  log: Logger;
  now: () => number;
  maxActionsPerHour: number;
  signal: AbortSignal;
}

/** Skips that repeat every poll once they start; the first one said it all. */
const QUIET_SKIPS = new Set<SkipReason>(['cooldown', 'credential_not_allowed']);

/** The steps before the re-read, in order: the source, the blockers, attempts, cooldown, the hourly limit. */
function gate<T>(
  policy: ActionPolicy<T>,
  c: Candidate<T>,
  problem: SkipReason | undefined,
  t: number,
  state: RemediationState,
  maxActionsPerHour: number,
): { skip: SkipReason; extra?: Partial<Decision> } | undefined {
  if (problem) return { skip: problem };
  const blocked = blockedBy(policy.blockers, c);
  if (blocked) return { skip: blocked.skip, extra: { reason: blocked.reason } };
  const previous = state.target(c.key);
  const attempts = previous?.attempts ?? 0;
  if (!c.finishing && policy.maxAttempts !== undefined && attempts >= policy.maxAttempts) {
    return { skip: 'max_attempts', extra: { reason: `gave up after ${policy.maxAttempts} attempts` } };
  }
  const until = c.finishing ? (previous?.nextAllowedAt ?? 0) : state.blockedUntil(c.key);
  if (until > t) return { skip: 'cooldown', extra: { evidence: { ...c.evidence, next_allowed_at: new Date(until).toISOString() } } };
  if (state.actionsInLastHour(t) >= maxActionsPerHour) return { skip: 'hourly_limit' };
  return undefined;
}

/** What the write step needs of the pipeline. */
interface WriteSteps {
  state: RemediationState;
  counters: RemediationCounters;
  audit: (action: RemediationAction, d: Decision) => void;
  saveState: () => Promise<boolean>;
  signal: AbortSignal;
}

/** The live write, its cooldown on disk first; its outcome audited and counted. */
async function write<T>(
  steps: WriteSteps,
  policy: ActionPolicy<T>,
  c: Candidate<T>,
  act: (signal: AbortSignal) => Promise<ActResult>,
  d: Omit<Decision, 'outcome'>,
  previous: ReturnType<RemediationState['target']>,
  t: number,
): Promise<void> {
  const { state, counters, audit, saveState, signal } = steps;
  if (!(await saveState())) {
    // Without the cooldown on disk, a restart after this write could send it again at once.
    state.cancelAction(c.key, previous, t);
    audit(policy.action, {
      ...d,
      outcome: 'skipped',
      skip: 'state_unwritable',
      reason: 'the remediation state file could not be written: no write is sent without its cooldown on disk',
    });
    return;
  }
  try {
    const result = await act(signal);
    if ('notTaken' in result) {
      state.cancelAction(c.key, previous, t);
      audit(policy.action, { ...d, outcome: 'skipped', skip: result.notTaken, reason: result.reason });
      return;
    }
    counters.action(policy.action, 'live');
    audit(policy.action, { ...d, evidence: { ...d.evidence, ...result.evidence }, outcome: 'done' });
  } catch (err) {
    counters.action(policy.action, 'live');
    // A 404 means the target is already gone, which is what the action wanted.
    if (err instanceof ApiNotFoundError) {
      audit(policy.action, { ...d, evidence: { ...d.evidence, note: 'already gone (404)' }, outcome: 'done' });
      return;
    }
    counters.failure(policy.action);
    audit(policy.action, { ...d, outcome: 'failed', error: (err as Error).message });
  }
}

export function createPipeline(options: PipelineOptions) {
  const { state, counters, log, now, signal } = options;

  const recent: RecentDecision[] = [];
  /** Per action and target, the skip last said at info: the same skip again goes to debug. */
  const saidSkip = new Map<string, string>();
  const audit = (action: RemediationAction, d: Decision) => {
    if (d.outcome === 'skipped' && d.skip) counters.skipped(action, d.skip);
    const key = `${action} ${JSON.stringify(d.target)}`;
    // The landing page's list: each target once, with its latest decision.
    const previous = recent.findIndex((r) => `${r.action} ${JSON.stringify(r.target)}` === key);
    if (previous >= 0) recent.splice(previous, 1);
    recent.unshift({ at: now(), action, mode: d.mode, target: d.target, outcome: d.outcome, reason: d.reason, ...(d.skip ? { skip: d.skip } : {}) });
    if (recent.length > RECENT_DECISIONS) recent.pop();
    const skipSaid = d.outcome === 'skipped' ? `${d.skip} ${d.reason}` : undefined;
    const repeated = skipSaid !== undefined && saidSkip.get(key) === skipSaid;
    if (skipSaid === undefined) saidSkip.delete(key);
    else saidSkip.set(key, skipSaid);
    if (saidSkip.size > 10_000) saidSkip.delete(saidSkip.keys().next().value as string);
    const line = {
      action,
      mode: d.mode,
      target: d.target,
      reason: d.reason,
      evidence: d.evidence,
      outcome: d.outcome,
      ...(d.skip ? { skip_reason: d.skip } : {}),
      ...(d.error ? { error: d.error } : {}),
    };
    if (repeated || (d.skip && QUIET_SKIPS.has(d.skip))) log.debug(line, 'remediation decision');
    else if (d.outcome === 'failed') log.error(line, 'remediation decision');
    else log.info(line, 'remediation decision');
  };

  /** Persists the state; false (logged) when the file could not be written. */
  const saveState = () =>
    state.save().then(
      () => true,
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'could not write the remediation state file');
        return false;
      },
    );

  async function runOne<T>(policy: ActionPolicy<T>, c: Candidate<T>, problem: SkipReason | undefined): Promise<void> {
    const base = { mode: policy.mode, target: c.target, reason: c.reason, evidence: c.evidence };
    const skip = (why: SkipReason, extra: Partial<Decision> = {}) => audit(policy.action, { ...base, outcome: 'skipped', skip: why, ...extra });
    const t = now();
    const gated = gate(policy, c, problem, t, state, options.maxActionsPerHour);
    if (gated) return skip(gated.skip, gated.extra);
    const previous = state.target(c.key);
    const checked = await policy.recheck(c, signal);
    if ('skip' in checked)
      return skip(checked.skip, { ...(checked.reason ? { reason: checked.reason } : {}), ...(checked.error ? { error: checked.error } : {}) });
    const next = state.recordAction(c.key, t, (n) => (c.finishing ?? policy).cooldownMs(n));
    const evidence = { ...c.evidence, ...checked.evidence, attempt: next.attempts, next_allowed_at: new Date(next.nextAllowedAt).toISOString() };
    if (policy.mode === 'dry-run') {
      counters.action(policy.action, 'dry_run');
      audit(policy.action, { ...base, evidence, outcome: 'would_act' });
    } else await write({ state, counters, audit, saveState, signal }, policy, c, checked.act, { ...base, evidence }, previous, t);
    await saveState();
  }

  return {
    /** Runs one action's policy over one scope's latest data, one candidate at a time. */
    async run<T>(policy: ActionPolicy<T>, scope: string): Promise<void> {
      await policy.prepare?.(scope, signal);
      const snapshot = options.snapshot();
      const candidates = policy.candidates(snapshot, scope);
      if (candidates.length === 0) return;
      const problem = policy.sourceProblem(snapshot, scope, now());
      for (const c of candidates) {
        if (signal.aborted) return;
        await runOne(policy, c, problem);
      }
    },
    saveState,
    /** The latest decisions, newest first. */
    recent: (): readonly RecentDecision[] => recent,
  };
}
