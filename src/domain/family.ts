// The shape the pure collectors return: metric name -> samples. metrics/exposition.ts writes them
// straight to the text format (no prom-client gauges in between); tests read them directly.

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export type Families = Map<string, Sample[]>;

export function addSample(families: Families, name: string, labels: Labels, value: number): void {
  let samples = families.get(name);
  if (!samples) {
    samples = [];
    families.set(name, samples);
  }
  samples.push({ labels, value });
}

/** One sample per state: 1 for the current one, 0 for the rest. */
export function addStateSet(families: Families, name: string, labels: Labels, stateLabel: string, states: readonly string[], current: string): void {
  for (const state of states) addSample(families, name, { ...labels, [stateLabel]: state }, state === current ? 1 : 0);
}

export function seconds(epochMs: number): number {
  return epochMs / 1000;
}
