// The Prometheus text format (0.0.4) of a family (domain/family.ts), written directly: prom-client
// renders the exporter's own live metrics; the snapshot's series, hundreds of thousands for a large
// fleet, go through this instead of prom-client gauges (why: docs/performance.md).
import type { Emit, Family } from '../domain/family.js';

const NEEDS_ESCAPE = /[\\\n"]/;
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
// Most label values (ids, names, colos) need no escaping: test once before replacing.
const escapeLabelValue = (text: string) => (NEEDS_ESCAPE.test(text) ? escapeHelp(text).replace(/"/g, '\\"') : text);

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}

/** A family's HELP and TYPE lines, without a trailing newline. */
export function formatHeader(family: Pick<Family<never>, 'name' | 'help' | 'type'>): string {
  return `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}`;
}

/** Per family, `name{label="` and `,label="` for each label: built once. */
const labelOpenings = new WeakMap<Family<never>, string[]>();

function openingsOf(family: Family<never>): string[] {
  let openings = labelOpenings.get(family);
  if (!openings) {
    openings = family.labels.map((label, i) => `${i === 0 ? `${family.name}{` : ','}${label}="`);
    labelOpenings.set(family, openings);
  }
  return openings;
}

// The line being written: set by formatItem, read by the one emit function (no closure per item;
// samples() never formats another family while it runs).
let openings: string[] = [];
let bare = '';
let out: string | undefined;

const emitLine: Emit = (values, value, last) => {
  const given = values.length + (last === undefined ? 0 : 1);
  // A family's labels and its samples are one entry; a mismatch is a bug in the entry, never a blank label.
  if (given !== openings.length) throw new Error(`${bare}: a sample gave ${given} label values for ${openings.length} labels`);
  let line = openings.length === 0 ? bare : '';
  for (let i = 0; i < openings.length; i++) line += `${openings[i]}${escapeLabelValue((i < values.length ? values[i] : last) as string)}"`;
  line += `${openings.length === 0 ? '' : '}'} ${formatValue(value)}`;
  out = out === undefined ? line : `${out}\n${line}`;
};

/** The lines of one item's samples, joined by newlines, without a trailing one; undefined when it has none. */
export function formatItem<T>(family: Family<T>, item: T): string | undefined {
  openings = openingsOf(family as Family<never>);
  bare = family.name;
  out = undefined;
  family.samples(item, emitLine);
  const lines = out;
  out = undefined;
  return lines;
}

/** One family over its items: HELP, TYPE and a line per sample, without a trailing newline. */
export function formatFamily<T>(family: Family<T>, items: Iterable<T>): string {
  let text = formatHeader(family);
  for (const item of items) {
    const lines = formatItem(family, item);
    if (lines !== undefined) text += `\n${lines}`;
  }
  return text;
}
