// The Prometheus text format (0.0.4) for the domain families, written directly from the samples
// the pure collectors return. prom-client renders the exporter's own live metrics; the snapshot's
// series, tens of thousands for a large fleet, go through this instead, which is several times
// faster than storing them in prom-client gauges and having them formatted back.
import type { Sample } from './samples.js';

export interface FamilyHeader {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
}

const NEEDS_ESCAPE = /[\\\n"]/;
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
// Most label values (ids, names, colos) need no escaping: test once before replacing.
const escapeLabelValue = (text: string) => (NEEDS_ESCAPE.test(text) ? escapeHelp(text).replace(/"/g, '\\"') : text);

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}

/** One family: HELP, TYPE and a line per sample, without a trailing newline. */
export function formatFamily(header: FamilyHeader, samples: readonly Sample[]): string {
  const lines = [`# HELP ${header.name} ${escapeHelp(header.help)}`, `# TYPE ${header.name} ${header.type}`];
  for (const { labels, value } of samples) {
    let pairs = '';
    for (const key in labels) pairs += `${pairs ? ',' : ''}${key}="${escapeLabelValue(labels[key] as string)}"`;
    lines.push(`${header.name}${pairs ? `{${pairs}}` : ''} ${formatValue(value)}`);
  }
  return lines.join('\n');
}
