// What remediation remembers between decisions: per-target cooldowns and attempts, and the
// actions of the last hour. Optionally persisted to REMEDIATION_STATE_FILE so a restart does not
// reset cooldowns (atomic write: temp file, fsync, rename). A corrupt file is moved aside and
// every target is treated as in cooldown for one cooldown period.
import { readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { z } from 'zod';
import type { Logger } from '../log.js';

const HOUR_MS = 3_600_000;

const targetSchema = z.object({ lastActionAt: z.number(), attempts: z.number().int().min(0), nextAllowedAt: z.number() });
const fileSchema = z.object({
  version: z.literal(1),
  targets: z.record(z.string(), targetSchema),
  actions: z.array(z.number()),
  cooldownAllUntil: z.number().optional(),
});

export type TargetState = z.infer<typeof targetSchema>;

export interface RemediationState {
  target(key: string): TargetState | undefined;
  /** Until when a target may not be acted on (0 when it may). */
  blockedUntil(key: string): number;
  actionsInLastHour(now: number): number;
  /** Records an action (decided, in either mode); `cooldownMs` gets the attempt number. */
  recordAction(key: string, at: number, cooldownMs: (attempts: number) => number): TargetState;
  forget(key: string): void;
  save(): Promise<void>;
}

export function loadRemediationState(options: { path?: string; now: number; cooldownMs: number; log: Logger }): RemediationState {
  const { path, log } = options;
  let data: z.infer<typeof fileSchema> = { version: 1, targets: {}, actions: [] };
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
        log.warn({ path, moved_to: aside, cooldown_all_until: new Date(data.cooldownAllUntil).toISOString() }, 'remediation state file is corrupt: moved aside; every target is in cooldown for one cooldown period');
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
      const state = { lastActionAt: at, attempts, nextAllowedAt: at + cooldownMs(attempts) };
      data.targets[key] = state;
      data.actions.push(at);
      return state;
    },
    forget(key) {
      delete data.targets[key];
    },
    save() {
      writing = writing.then(write, write);
      return writing;
    },
  };
}
