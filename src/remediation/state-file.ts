// What remediation remembers between decisions: per-target cooldowns and attempts, the actions of
// the last hour, the journal of proxy records being recreated (deleted, not yet created again),
// and the records whose CNAME target changed on a recreate (DNS must follow). Optionally persisted
// to REMEDIATION_STATE_FILE so a restart does not reset cooldowns or lose a journal entry (atomic
// write: temp file, fsync, rename). A corrupt file is moved aside, every target is treated as in
// cooldown for one cooldown period (the journal's own entries excepted), and what still parses is
// salvaged: each part on its own, and journal entries even from a truncated file, since a journal
// entry dropped is a domain never created again.
import { readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../log.js';

const HOUR_MS = 3_600_000;

const targetSchema = z.object({ attempts: z.number().int().min(0), nextAllowedAt: z.number() });
const journalSchema = z.object({ organizationId: z.string(), domain: z.string(), oldId: z.string(), oldTargetCname: z.string(), at: z.number() });
const dnsChangeSchema = z.object({ organizationId: z.string(), domain: z.string(), oldTargetCname: z.string(), newTargetCname: z.string(), at: z.number() });
const fileSchema = z.object({
  version: z.literal(1),
  targets: z.record(z.string(), targetSchema),
  actions: z.array(z.number()),
  cooldownAllUntil: z.number().optional(),
  journal: z.array(journalSchema).default([]),
  dnsChanges: z.array(dnsChangeSchema).default([]),
});

export type TargetState = z.infer<typeof targetSchema>;
/** A proxy record being recreated: written (and synced) before its DELETE, cleared after the create. */
export type JournalEntry = z.infer<typeof journalSchema>;
/** A recreated record whose target_cname changed: the user's DNS must point at the new one. */
export type DnsChange = z.infer<typeof dnsChangeSchema>;

/** What loading a corrupt state file kept; undefined when the file was whole (or absent). */
export interface CorruptStateFile {
  path: string;
  movedTo: string;
  salvagedJournalEntries: number;
}

export interface RemediationState {
  /** Set when the file was corrupt at start-up: an operator must look at the file moved aside. */
  readonly corrupt: CorruptStateFile | undefined;
  target(key: string): TargetState | undefined;
  /** Until when a target may not be acted on (0 when it may). */
  blockedUntil(key: string): number;
  actionsInLastHour(now: number): number;
  /** Records an action (decided, in either mode); `cooldownMs` gets the attempt number. */
  recordAction(key: string, at: number, cooldownMs: (attempts: number) => number): TargetState;
  /** Counts an attempt and its cooldown without counting an action (a write retried inside one). */
  recordAttempt(key: string, at: number, cooldownMs: (attempts: number) => number): TargetState;
  /** Takes back an action recorded at `at` that turned out not to be taken (nothing was changed). */
  cancelAction(key: string, previous: TargetState | undefined, at: number): void;
  forget(key: string): void;
  journal(): readonly JournalEntry[];
  addJournal(entry: JournalEntry): void;
  clearJournal(organizationId: string, domain: string): void;
  dnsChanges(): readonly DnsChange[];
  addDnsChange(change: DnsChange): void;
  clearDnsChange(organizationId: string, domain: string): void;
  save(): Promise<void>;
}

type StateData = z.infer<typeof fileSchema>;

const empty = (): StateData => ({ version: 1, targets: {}, actions: [], journal: [], dnsChanges: [] });

/**
 * What can be kept of a file that does not parse as a whole. A parsable document keeps every part
 * and every entry that is valid on its own; text that is not JSON (truncated, garbage) still yields
 * the journal and DNS-change entries it holds whole, as they are flat objects.
 */
function salvageState(text: string): StateData {
  const out = empty();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (typeof doc === 'object' && doc !== null) {
    const d = doc as Record<string, unknown>;
    for (const [key, value] of Object.entries(typeof d.targets === 'object' && d.targets !== null ? d.targets : {})) {
      const t = targetSchema.safeParse(value);
      if (t.success) out.targets[key] = t.data;
    }
    if (Array.isArray(d.actions)) out.actions = d.actions.filter((a): a is number => typeof a === 'number');
    if (typeof d.cooldownAllUntil === 'number') out.cooldownAllUntil = d.cooldownAllUntil;
    for (const e of Array.isArray(d.journal) ? d.journal : []) {
      const j = journalSchema.safeParse(e);
      if (j.success) out.journal.push(j.data);
    }
    for (const e of Array.isArray(d.dnsChanges) ? d.dnsChanges : []) {
      const c = dnsChangeSchema.safeParse(e);
      if (c.success) out.dnsChanges.push(c.data);
    }
    return out;
  }
  for (const [flat] of text.matchAll(/\{[^{}]*\}/g)) {
    let entry: unknown;
    try {
      entry = JSON.parse(flat);
    } catch {
      continue;
    }
    const c = dnsChangeSchema.safeParse(entry);
    if (c.success) out.dnsChanges.push(c.data);
    else {
      const j = journalSchema.safeParse(entry);
      if (j.success) out.journal.push(j.data);
    }
  }
  return out;
}

type LoadOptions = { path?: string; now: number; cooldownMs: number; log: Logger };

/** The file's data: empty when there is no file; a corrupt file is moved aside and what parses salvaged. */
function readStateFile(options: LoadOptions): { data: StateData; corrupt?: CorruptStateFile } {
  const { path, log } = options;
  if (!path) return { data: empty() };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: empty() };
    throw new Error(`REMEDIATION_STATE_FILE ${path}: cannot be read`, { cause: err });
  }
  let parsed: ReturnType<typeof fileSchema.safeParse> | undefined;
  try {
    parsed = fileSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success) return { data: parsed.data };
  const aside = `${path}.corrupt-${options.now}`;
  try {
    // Synchronous: this runs once at start-up, before any decision.
    renameSync(path, aside);
  } catch (err) {
    log.error({ path, err: (err as Error).message }, 'could not move the corrupt remediation state file aside');
  }
  const data = salvageState(text);
  data.cooldownAllUntil = options.now + options.cooldownMs;
  log.error(
    {
      path,
      moved_to: aside,
      salvaged_journal_entries: data.journal.length,
      salvaged_dns_changes: data.dnsChanges.length,
      salvaged_targets: Object.keys(data.targets).length,
      cooldown_all_until: new Date(data.cooldownAllUntil).toISOString(),
    },
    'remediation state file is corrupt: moved aside and salvaged what parses; every target is in cooldown for one cooldown period. A recreate journaled in the lost part is not finished: check the moved file for proxy record domains being recreated',
  );
  return { data, corrupt: { path, movedTo: aside, salvagedJournalEntries: data.journal.length } };
}

export function loadRemediationState(options: LoadOptions): RemediationState {
  const { path } = options;
  const { data, corrupt } = readStateFile(options);

  let writing: Promise<void> = Promise.resolve();
  const write = async () => {
    if (!path) return;
    const tmp = `${path}.tmp-${process.pid}`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(data));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  };

  return {
    corrupt,
    target: (key) => data.targets[key],
    blockedUntil(key) {
      return Math.max(data.targets[key]?.nextAllowedAt ?? 0, data.cooldownAllUntil ?? 0);
    },
    actionsInLastHour(now) {
      data.actions = data.actions.filter((t) => now - t < HOUR_MS);
      return data.actions.length;
    },
    recordAttempt(key, at, cooldownMs) {
      const attempts = (data.targets[key]?.attempts ?? 0) + 1;
      const state = { attempts, nextAllowedAt: at + cooldownMs(attempts) };
      data.targets[key] = state;
      return state;
    },
    recordAction(key, at, cooldownMs) {
      data.actions.push(at);
      return this.recordAttempt(key, at, cooldownMs);
    },
    cancelAction(key, previous, at) {
      if (previous) data.targets[key] = previous;
      else delete data.targets[key];
      const i = data.actions.lastIndexOf(at);
      if (i >= 0) data.actions.splice(i, 1);
    },
    forget(key) {
      delete data.targets[key];
    },
    journal: () => data.journal,
    addJournal(entry) {
      data.journal = [...data.journal.filter((e) => !(e.organizationId === entry.organizationId && e.domain === entry.domain)), entry];
    },
    clearJournal(organizationId, domain) {
      data.journal = data.journal.filter((e) => !(e.organizationId === organizationId && e.domain === domain));
    },
    dnsChanges: () => data.dnsChanges,
    addDnsChange(change) {
      data.dnsChanges = [...data.dnsChanges.filter((e) => !(e.organizationId === change.organizationId && e.domain === change.domain)), change];
    },
    clearDnsChange(organizationId, domain) {
      data.dnsChanges = data.dnsChanges.filter((e) => !(e.organizationId === organizationId && e.domain === domain));
    },
    save() {
      writing = writing.then(write, write);
      return writing;
    },
  };
}
