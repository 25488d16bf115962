// `npm run generate`: writes the files generated from other sources, so they cannot drift:
// docs/configuration.md (from the settings table), prometheus/alerts.yml (from
// prometheus/alerts.src.yml and prometheus/mixin.json) and deploy/kubernetes/prometheusrule.yaml
// (from the generated rules). A script: importing it writes the files. Tests hold the committed
// files to the renderers' output.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Mixin, renderAlertRules } from './deploy/alert-rules.js';
import { renderPrometheusRule } from './deploy/prometheus-rule.js';
import { renderConfigurationDoc } from './docs/configuration.js';

const root = process.cwd();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const rules = renderAlertRules(read('prometheus/alerts.src.yml'), JSON.parse(read('prometheus/mixin.json')) as Mixin);
const outputs: [string, string][] = [
  ['docs/configuration.md', renderConfigurationDoc()],
  ['prometheus/alerts.yml', rules],
  ['deploy/kubernetes/prometheusrule.yaml', renderPrometheusRule(rules)],
];
for (const [path, text] of outputs) {
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
