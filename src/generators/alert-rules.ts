// prometheus/alerts.yml, rendered from prometheus/alerts.src.yml with the settings of
// prometheus/mixin.json (monitoring-mixin style, like node-mixin's selector): the job selector goes
// into every selector of the exporter's metrics and `up` (and where an annotation's query says
// `$JOB_SELECTOR`), and the runbook base URL into every runbook_url. Pure: `npm run generate` writes the file (src/generators/main.ts); tests hold the committed
// file to this output.
import { parse, stringify } from 'yaml';
import { withSelector } from './promql.js';

export interface Mixin {
  /** A label matcher, e.g. job="cloudflare-tunnel-exporter". */
  jobSelector: string;
  /** Where docs/runbooks.md is served; each alert's runbook_url is this plus #<alert name>. */
  runbookBaseUrl: string;
}

interface Rule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export function renderAlertRules(source: string, mixin: Mixin): string {
  const doc = parse(source) as { groups: { name: string; rules: Rule[] }[] };
  for (const group of doc.groups) {
    for (const rule of group.rules) {
      rule.expr = withSelector(rule.expr, mixin.jobSelector);
      for (const [key, value] of Object.entries(rule.annotations ?? {})) {
        (rule.annotations as Record<string, string>)[key] = value
          .replaceAll('$RUNBOOK_BASE_URL', mixin.runbookBaseUrl)
          .replaceAll('$JOB_SELECTOR', mixin.jobSelector);
      }
    }
  }
  return `# Generated from prometheus/alerts.src.yml and prometheus/mixin.json by \`npm run generate\`;
# edit those, not this file. Job selector: ${mixin.jobSelector}; runbooks: ${mixin.runbookBaseUrl}
${stringify(doc, { lineWidth: 0 })}`;
}
