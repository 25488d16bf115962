// The README's counts that come from generated files, between markers, so they are generated, not
// typed: `<!-- alert-count -->28 alerts<!-- /alert-count -->` from prometheus/alerts.yml. Pure:
// `npm run generate` writes the README (./main.ts), and test/docs.test.ts holds it to this output.
import { parse } from 'yaml';

export function renderReadmeCounts(readme: string, alertsYaml: string): string {
  const rules = parse(alertsYaml) as { groups: { rules: { alert?: string }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined).length;
  return readme.replace(/<!-- alert-count -->[^<]*<!-- \/alert-count -->/g, `<!-- alert-count -->${alerts} alerts<!-- /alert-count -->`);
}
