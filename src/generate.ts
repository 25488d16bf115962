// `npm run generate`: writes the files generated from other sources, so they cannot drift:
// docs/configuration.md (from the settings table) and deploy/kubernetes/prometheusrule.yaml (from
// prometheus/alerts.yml). A script: importing it writes the files. Tests hold the committed files
// to the renderers' output.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPrometheusRule } from './deploy/prometheus-rule.js';
import { renderConfigurationDoc } from './docs/configuration.js';

const root = process.cwd();
const outputs: [string, string][] = [
  ['docs/configuration.md', renderConfigurationDoc()],
  ['deploy/kubernetes/prometheusrule.yaml', renderPrometheusRule(readFileSync(join(root, 'prometheus/alerts.yml'), 'utf8'))],
];
for (const [path, text] of outputs) {
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
