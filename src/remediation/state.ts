// What remediation remembers between decisions: per-target cooldowns and attempts, the actions of
// the last hour, the journal of proxy records being recreated (deleted, not yet created again),
// and the records whose CNAME target changed on a recreate (DNS must follow). Optionally persisted
// to REMEDIATION_STATE_FILE so a restart does not reset cooldowns or lose a journal entry (atomic
// write: temp file, fsync, rename). A corrupt file is moved aside and every target is treated as
// in cooldown for one cooldown period.
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

export interface RemediationState {
  target(key: string): TargetState | undefined;
  /** Until when a target may not be acted on (0 when it may). */
  blockedUntil(key: string): number;
  actionsInLastHour(now: number): number;
  /** Records an action (decided, in either mode); `cooldownMs` gets the attempt number. */
  recordAction(key: string, at: number, cooldownMs: (attempts: number) => number): TargetState;
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

export function loadRemediationState(options: { path?: string; now: number; cooldownMs: number; log: Logger }): RemediationState {
  const { path, log } = options;
  let data: z.infer<typeof fileSchema> = { version: 1, targets: {}, actions: [], journal: [], dnsChanges: [] };
  if (path) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`REMEDIATION_STATE_FILE ${path}: cannot be read`, { cause: err });
    }
    if (text !== undefined) {
      const parsed = (() => {
        try {
          return fileSchema.safeParse(JSON.parse(text));
        } catch {
          return undefined;
        }
      })();
      if (parsed?.success) {
        data = parsed.data;
      } else {
        const aside = `${path}.corrupt-${options.now}`;
        try {
          // Synchronous: this runs once at start-up, before any decision.
          renameSync(path, aside);
        } catch (err) {
          log.error({ path, err: (err as Error).message }, 'could not move the corrupt remediation state file aside');
        }
        data.cooldownAllUntil = options.now + options.cooldownMs;
        log.warn(
          { path, moved_to: aside, cooldown_all_until: new Date(data.cooldownAllUntil).toISOString() },
          'remediation state file is corrupt: moved aside; every target is in cooldown for one cooldown period',
        );
      }
    }
  }

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
    target: (key) => data.targets[key],
    blockedUntil(key) {
      return Math.max(data.targets[key]?.nextAllowedAt ?? 0, data.cooldownAllUntil ?? 0);
    },
    actionsInLastHour(now) {
      data.actions = data.actions.filter((t) => now - t < HOUR_MS);
      return data.actions.length;
    },
    recordAction(key, at, cooldownMs) {
      const attempts = (data.targets[key]?.attempts ?? 0) + 1;
      const state = { attempts, nextAllowedAt: at + cooldownMs(attempts) };
      data.targets[key] = state;
      data.actions.push(at);
      return state;
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
