// Faults the tests and the demo inject: latency, errors, 429s, bodies that are not JSON, hung and
// reset connections, optionally after the request took effect. Chosen before a request is handled,
// so a failed write changes nothing unless the rule says `after`.
import type { Random } from './fleet.js';
import type { Endpoint } from './paths.js';

export interface FaultRule {
  /** Which endpoint, or '*' for all API endpoints. */
  endpoint: Endpoint | '*';
  /** Only requests whose path contains this text (e.g. a tunnel id). */
  pathIncludes?: string;
  latencyMs?: number;
  jitterMs?: number;
  /** Share of matching requests that fail (0..1); default 1 when `status` is set. */
  errorRate?: number;
  status?: number;
  /** Answers 429 with Retry-After, as if the budget were spent. */
  rateLimited?: boolean;
  retryAfterSeconds?: number;
  /** Answers 200 with a body that is not JSON. */
  malformed?: boolean;
  /** Never answers. */
  hang?: boolean;
  /** Destroys the socket without an answer. */
  reset?: boolean;
  /** Applies to this many matching requests, then is dropped. */
  times?: number;
  /**
   * With `status`, `hang` or `reset`: handle the request first, then answer with the fault (a write
   * that took effect although its caller never learns it did).
   */
  after?: boolean;
}

export class Faults {
  private rules: FaultRule[];

  constructor(
    rules: FaultRule[],
    private readonly random: Random,
  ) {
    this.rules = [...rules];
  }

  list(): FaultRule[] {
    return this.rules;
  }

  set(rules: FaultRule[]): void {
    if (!Array.isArray(rules)) throw new Error('faults must be a JSON array of rules');
    this.rules = [...rules];
  }

  /** The first rule that applies to this request, counted against its `times`. */
  match(endpoint: Endpoint | undefined, path: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.endpoint !== '*' && rule.endpoint !== endpoint) continue;
      if (rule.pathIncludes && !path.includes(rule.pathIncludes)) continue;
      const rate = rule.errorRate ?? 1;
      if (rate < 1 && this.random() >= rate) continue;
      if (rule.times !== undefined) {
        rule.times--;
        if (rule.times <= 0) this.rules = this.rules.filter((r) => r !== rule);
      }
      return rule;
    }
    return undefined;
  }

  /** How long to wait before answering. */
  latencyOf(rule: FaultRule | undefined): number {
    return (rule?.latencyMs ?? 0) + (rule?.jitterMs ? this.random() * rule.jitterMs : 0);
  }
}
