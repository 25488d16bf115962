// The Prometheus text format (0.0.4) for the domain families, written directly from the samples
// the pure collectors return (metrics/render.ts). prom-client renders the exporter's own live
// metrics; the snapshot's series, hundreds of thousands for a large fleet, go through this
// instead, which is several times faster than storing them in prom-client gauges.
import type { Sample } from '../domain/family.js';

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

/** A family's HELP and TYPE lines, without a trailing newline. */
export function formatHeader(header: FamilyHeader): string {
  return `# HELP ${header.name} ${escapeHelp(header.help)}\n# TYPE ${header.name} ${header.type}`;
}

/** A line per sample, joined by newlines, without a trailing newline. */
export function formatSamples(name: string, samples: readonly Sample[]): string {
  const lines: string[] = [];
  for (const { labels, value } of samples) {
    let pairs = '';
    for (const key in labels) pairs += `${pairs ? ',' : ''}${key}="${escapeLabelValue(labels[key] as string)}"`;
    lines.push(`${name}${pairs ? `{${pairs}}` : ''} ${formatValue(value)}`);
  }
  return lines.join('\n');
}

/** One family: HELP, TYPE and a line per sample, without a trailing newline. */
export function formatFamily(header: FamilyHeader, samples: readonly Sample[]): string {
  return samples.length > 0 ? `${formatHeader(header)}\n${formatSamples(header.name, samples)}` : formatHeader(header);
}
