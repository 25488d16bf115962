// `npm run generate` (and its alias `npm run dashboards`): writes every file generated from code,
// so none can drift: docs/configuration.md (from the settings table), the README's alert count,
// prometheus/alerts.yml (from prometheus/alerts.src.yml and prometheus/mixin.json),
// deploy/kubernetes/components/ (the PrometheusRule from the generated rules, the dashboards),
// grafana/dashboards/*.json (from ./dashboards/definitions.ts), and the Helm chart's copies of the
// rules and dashboards (deploy/helm/cloudflare-tunnel-exporter/files). A script: importing it
// writes the files. Tests hold the committed files to the renderers' output.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Mixin, renderAlertRules } from './alert-rules.js';
import { renderConfigurationDoc } from './configuration-doc.js';
import { DASHBOARDS } from './dashboards/definitions.js';
import { renderDashboard } from './dashboards/json.js';
import { renderPrometheusRule } from './prometheus-rule.js';
import { renderReadmeCounts } from './readme.js';

const root = process.cwd();
const CHART = 'deploy/helm/cloudflare-tunnel-exporter';
const KUSTOMIZE_DASHBOARDS = 'deploy/kubernetes/components/grafana-dashboards/dashboards';
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const rules = renderAlertRules(read('prometheus/alerts.src.yml'), JSON.parse(read('prometheus/mixin.json')) as Mixin);
const outputs: [string, string][] = [
  ['docs/configuration.md', renderConfigurationDoc()],
  ['README.md', renderReadmeCounts(read('README.md'), rules)],
  ['prometheus/alerts.yml', rules],
  ['deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml', renderPrometheusRule(rules)],
  ...Object.entries(DASHBOARDS).map(([file, model]): [string, string] => [join('grafana', 'dashboards', file), renderDashboard(model)]),
  // The Helm chart carries the same rules and dashboards (a chart can only read files inside it).
  [join(CHART, 'files', 'alerts.yml'), rules],
  ...Object.entries(DASHBOARDS).map(([file, model]): [string, string] => [join(CHART, 'files', 'dashboards', file), renderDashboard(model)]),
  // So does the kustomize component (kustomize, too, reads only files under its folder).
  ...Object.entries(DASHBOARDS).map(([file, model]): [string, string] => [join(KUSTOMIZE_DASHBOARDS, file), renderDashboard(model)]),
];
for (const [path, text] of outputs) {
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
