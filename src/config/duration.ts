// Durations in the Prometheus style: "30s", "10m", "1h30m", "500ms", "1d".
const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** Parses a duration into milliseconds; returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * (UNITS[unit as string] as number);
  }
  return total;
}

const ORDER = ['w', 'd', 'h', 'm', 's', 'ms'] as const;

export interface DurationFormat {
  /** The largest unit used ("h": a year is 8784h, not 52w2d). */
  largest?: (typeof ORDER)[number];
  /** At most this many units, the smaller ones dropped ("2h 10m" for people). */
  parts?: number;
  separator?: string;
}

/** Formats milliseconds back into duration text, exact by default ("90000" -> "1m30s"). */
export function formatDuration(ms: number, format: DurationFormat = {}): string {
  if (ms === 0) return '0s';
  const units = ORDER.slice(ORDER.indexOf(format.largest ?? 'w'));
  let rest = ms;
  const out: string[] = [];
  for (const unit of units) {
    const size = UNITS[unit] as number;
    if (rest >= size && out.length < (format.parts ?? Infinity)) {
      out.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return out.join(format.separator ?? '');
}
