// What one answer may contribute to the exposition. A real tunnel has a handful of connectors
// (Cloudflare allows 25 cloudflared replicas per tunnel) of 4 connections each, in a few colos, and
// names of a few dozen characters; an answer far past that is a bug or an attack, and without
// bounds it cost seconds of event loop and gigabytes (docs/performance.md). What is cut is counted, by item, in
// cloudflare_tunnel_exporter_answer_cuts_total, and each limit is in the README.

export const ANSWER_LIMITS = {
  /** Connectors kept per tunnel (those holding connections first). */
  connectorsPerTunnel: 100,
  /** Connections kept per connector (cloudflared holds 4 by default). */
  connectionsPerConnector: 16,
  /** Distinct colos per tunnel; connections in further colos are counted under colo="other". */
  colosPerTunnel: 32,
  /** Characters of a label value (names, domains, versions); longer ones end in "…". */
  labelValueLength: 256,
} as const;

export const CUT_ITEMS = ['connectors', 'connections', 'colos', 'label_values'] as const;
export type CutItem = (typeof CUT_ITEMS)[number];
export type Cuts = Record<CutItem, number>;

/** Receives what was cut from one answer (only items with a count above 0). */
export type OnCut = (item: CutItem, count: number) => void;

export function noCuts(): Cuts {
  return { connectors: 0, connections: 0, colos: 0, label_values: 0 };
}

/** A label value at most ANSWER_LIMITS.labelValueLength characters long. */
export function bounded(text: string, cuts: Cuts): string {
  if (text.length <= ANSWER_LIMITS.labelValueLength) return text;
  cuts.label_values++;
  return `${text.slice(0, ANSWER_LIMITS.labelValueLength - 1)}…`;
}

export function reportCuts(cuts: Cuts, onCut: OnCut | undefined): void {
  if (!onCut) return;
  for (const item of CUT_ITEMS) if (cuts[item] > 0) onCut(item, cuts[item]);
}

/** An API timestamp as epoch milliseconds; absent or unparsable is undefined. */
export function epochMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** One of the known values, or the fallback (an API that adds a status must not add a series). */
export function oneOf<T extends string>(values: readonly T[], value: string | null | undefined, fallback: T): T {
  return value && (values as readonly string[]).includes(value) ? (value as T) : fallback;
}
