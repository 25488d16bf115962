// A metric family as one table entry, after kube-state-metrics' FamilyGenerator: its name, HELP,
// type, label names and the function that makes its samples from one item of its source, side by
// side, so HELP, labels and values cannot drift apart. A sample gives its label values in the
// order of `labels`. metrics/text-format.ts writes them to the text format.

/** One sample: its label values in the order of the family's labels; `last`, when given, is the last label's value (no array copy for a state or a colo). */
export type Emit = (values: readonly string[], value: number, last?: string) => void;

export interface Family<T> {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  /** The label names, in the order docs/metrics.md gives them and each sample's values follow. */
  labels: readonly string[];
  /** Emits the samples of one item (a tunnel, an endpoint, an organization's records…); none is fine. */
  samples(item: T, emit: Emit): void;
}

/** A state set: one sample per state, 1 for the current one and 0 for the rest; the state label is last. */
export function stateSet(emit: Emit, values: readonly string[], states: readonly string[], current: string): void {
  for (const state of states) emit(values, state === current ? 1 : 0, state);
}

/** A timestamp in Unix seconds, when there is one. */
export function whenSet(emit: Emit, values: readonly string[], epochMs: number | undefined): void {
  if (epochMs !== undefined) emit(values, seconds(epochMs));
}

export function seconds(epochMs: number): number {
  return epochMs / 1000;
}
