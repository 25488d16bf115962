// deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml, rendered from
// prometheus/alerts.yml: the same groups under a Prometheus Operator PrometheusRule, so the two
// never diverge. Pure: `npm run generate` writes the
// file (src/generators/main.ts), and test/ops/kubernetes.test.ts holds the committed file to this output.
import { parse, stringify } from 'yaml';

export function renderPrometheusRule(alertsYaml: string): string {
  const rules = parse(alertsYaml) as { groups: unknown[] };
  const doc = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'cloudflare-tunnel-exporter', labels: { 'app.kubernetes.io/name': 'cloudflare-tunnel-exporter', release: 'kube-prometheus-stack' } },
    spec: { groups: rules.groups },
  };
  return `# Generated from prometheus/alerts.yml by \`npm run generate\`; edit that file, not this one.\n# release: the label kube-prometheus-stack selects rules by (its Helm release name; see kustomization.yaml).\n${stringify(doc, { lineWidth: 0 })}`;
}
