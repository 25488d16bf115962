// Pulls the metric names out of a PromQL expression (good enough for our dashboards and rules):
// strips strings, label matchers, grouping clauses and ranges, then keeps identifiers that are
// neither functions nor keywords.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || KEYWORDS.has((name as string).toLowerCase()) || /^\d/.test(name as string)) continue;
    names.add(name as string);
  }
  return [...names];
}

/** Every panel query and every variable's series selector of a dashboard model. */
export function dashboardQueries(model: Record<string, unknown>): string[] {
  const panels = (model.panels as { targets?: { expr: string }[] }[]) ?? [];
  const variables = ((model.templating as { list: { definition?: string }[] }).list ?? []).map((v) => v.definition).filter((d): d is string => Boolean(d));
  // Grafana's variable functions around PromQL: label_values(<selector>, <label>) and query_result(<query>).
  const promql = (v: string) => v.replace(/^label_values\((.*), \w+\)$/, '$1').replace(/^query_result\((.*)\)$/, '$1');
  return [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...variables.map(promql)];
}
