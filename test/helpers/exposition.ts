// Reads Prometheus text exposition into samples, for assertions on what a scrape shows.
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k as string] = (v as string).replace(/\\(.)/g, '$1');
    out.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return out;
}

/** Samples of one metric whose labels include `where`. */
export function samples(text: string, name: string, where: Record<string, string> = {}): ParsedSample[] {
  return parseExposition(text).filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

export function value(text: string, name: string, where: Record<string, string> = {}): number | undefined {
  const found = samples(text, name, where);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(where)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Every family an exposition declares, from its `# TYPE` lines, in order. */
export function declaredFamilies(text: string): { name: string; type: string }[] {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1] as string, type: m[2] as string }));
}
