// The Helm chart (deploy/helm/cloudflare-tunnel-exporter) and the kustomizations, with the real
// helm v4 and kubectl (scripts/install-kube-tools.sh): `helm lint --strict`, `helm template` with
// the defaults and with every values file of test/fixtures/helm, each rendered object validated
// against its Kubernetes or Prometheus Operator schema (kubernetes-models), the PrometheusRule and
// the dashboard ConfigMaps equal to the shipped files, the rendered settings accepted by
// `--config.check`, bad values refused by values.schema.json, and `kubectl kustomize` on each
// kustomization.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/daemon.js';
import { tool } from '../helpers/tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(root, 'deploy/helm/cloudflare-tunnel-exporter');
const FIXTURES = join(root, 'test/fixtures/helm');
const chartVersion = (parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;

const MODELS: Record<string, new (data: unknown) => { validate(): void }> = {
  Deployment: Deployment as never,
  StatefulSet: StatefulSet as never,
  Service: Service as never,
  ConfigMap: ConfigMap as never,
  PersistentVolumeClaim: PersistentVolumeClaim as never,
  NetworkPolicy: NetworkPolicy as never,
  ServiceMonitor: ServiceMonitor as never,
  PrometheusRule: PrometheusRule as never,
};

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain YAML data
type Manifest = any;

function render(helm: string, ...valuesFiles: string[]): Manifest[] {
  const args = ['template', 'exporter', CHART, '--namespace', 'monitoring', ...valuesFiles.flatMap((f) => ['-f', join(FIXTURES, f)])];
  const docs = parseAllDocuments(execFileSync(helm, args, { encoding: 'utf8' }))
    .map((d) => d.toJSON() as Manifest)
    .filter(Boolean);
  for (const doc of docs) {
    const Model = MODELS[doc.kind];
    expect(Model, `${doc.kind} ${doc.metadata?.name}`).toBeDefined();
    expect(() => new (Model as NonNullable<typeof Model>)(doc).validate(), `${doc.kind} ${doc.metadata?.name}`).not.toThrow();
  }
  return docs;
}

const kinds = (docs: Manifest[]) => docs.map((d) => d.kind).sort();
const one = (docs: Manifest[], kind: string) => docs.filter((d) => d.kind === kind);
const container = (workload: Manifest) => workload.spec.template.spec.containers[0];
const envOf = (workload: Manifest) => Object.fromEntries(container(workload).env.map((e: Manifest) => [e.name, e.value ?? e.valueFrom]));

describe('the Helm chart', () => {
  it('passes helm lint --strict', (ctx) => {
    const helm = tool('helm', ctx);
    const out = execFileSync(helm, ['lint', '--strict', CHART], { encoding: 'utf8' });
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders, with the default values, one hardened Deployment with its Service and settings, no secret value anywhere', (ctx) => {
    const docs = render(tool('helm', ctx));
    expect(kinds(docs)).toEqual(['ConfigMap', 'Deployment', 'Service']);
    const [deployment] = one(docs, 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(deployment).securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container(deployment).image).toBe(`ghcr.io/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter:${chartVersion}`);
    expect(envOf(deployment).CLOUDFLARE_API_TOKEN_FILE).toBe('/run/secrets/cloudflare-tunnel-exporter/cloudflare_api_token');
    expect(pod.volumes.find((v: Manifest) => v.name === 'secrets').secret.secretName).toBe('cloudflare-tunnel-exporter');
    for (const doc of docs)
      expect(doc.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'cloudflare-tunnel-exporter', 'app.kubernetes.io/instance': 'exporter' });
    expect(JSON.stringify(docs)).not.toMatch(/API_TOKEN"|API_KEY"/);
  });

  it('renders shards as a StatefulSet whose pods take their shard from their name, with a headless Service and a volume per shard', (ctx) => {
    const docs = render(tool('helm', ctx), 'sharded.yaml');
    expect(kinds(docs)).toEqual(['ConfigMap', 'Service', 'Service', 'StatefulSet']);
    const [sts] = one(docs, 'StatefulSet');
    expect(sts.spec.replicas).toBe(3);
    expect(envOf(sts).TOTAL_SHARDS).toBe('3');
    expect(envOf(sts).POD_NAME).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    const headless = one(docs, 'Service').find((s: Manifest) => s.spec.clusterIP === 'None');
    expect(sts.spec.serviceName).toBe(headless.metadata.name);
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('state');
  });

  it('renders every optional part, each equal to what the repository ships', (ctx) => {
    const docs = render(tool('helm', ctx), 'everything.yaml');
    expect(kinds(docs)).toEqual([
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'PersistentVolumeClaim',
      'PrometheusRule',
      'Service',
      'ServiceMonitor',
    ]);
    const [rule] = one(docs, 'PrometheusRule');
    expect(rule.spec.groups).toEqual(parse(readFileSync(join(root, 'prometheus/alerts.yml'), 'utf8')).groups);
    const dashboards = one(docs, 'ConfigMap').filter((c: Manifest) => c.metadata.labels.grafana_dashboard === '1');
    const shipped = readdirSync(join(root, 'grafana/dashboards')).filter((f) => f.endsWith('.json'));
    expect(dashboards.map((c: Manifest) => Object.keys(c.data)[0]).sort()).toEqual(shipped.sort());
    for (const c of dashboards) {
      const [file, json] = Object.entries(c.data)[0] as [string, string];
      expect(JSON.parse(json), file).toEqual(JSON.parse(readFileSync(join(root, 'grafana/dashboards', file), 'utf8')));
    }
    const [deployment] = one(docs, 'Deployment');
    expect(container(deployment).image).toBe('registry.example/cte:9.9.9');
    expect(container(deployment).args).toEqual(['--log.level=debug']);
    expect(deployment.spec.template.spec).toMatchObject({ priorityClassName: 'monitoring', nodeSelector: { 'kubernetes.io/os': 'linux' } });
    expect(deployment.spec.template.metadata.labels.team).toBe('sre');
    expect(deployment.spec.template.spec.volumes.find((v: Manifest) => v.name === 'state').persistentVolumeClaim.claimName).toBe(
      one(docs, 'PersistentVolumeClaim')[0].metadata.name,
    );
    expect(one(docs, 'ServiceMonitor')[0].spec.endpoints[0]).toMatchObject({ interval: '15s', relabelings: [{ targetLabel: 'job' }] });
  });

  it("an existing secret's name and keys, and PostHog: the settings it renders pass --config.check", async (ctx) => {
    const docs = render(tool('helm', ctx), 'posthog.yaml');
    const [deployment] = one(docs, 'Deployment');
    const [config] = one(docs, 'ConfigMap');
    expect(deployment.spec.template.spec.volumes.find((v: Manifest) => v.name === 'secrets').secret.secretName).toBe('exporter-credentials');
    const secrets = mkdtempSync(join(tmpdir(), 'helm-secrets-'));
    writeFileSync(join(secrets, 'cf-token'), 'a-token');
    writeFileSync(join(secrets, 'ph-key'), 'phx_key');
    const env: Record<string, string> = { ...config.data };
    const state = mkdtempSync(join(tmpdir(), 'helm-state-'));
    for (const [name, value] of Object.entries(envOf(deployment))) {
      if (typeof value === 'string')
        env[name] = value.replace('/run/secrets/cloudflare-tunnel-exporter', secrets).replace('/var/lib/cloudflare-tunnel-exporter', state);
    }
    const { code, stdout, stderr } = await runCli(['--config.check'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('organization_ids');
    expect(stdout).not.toContain('a-token');
  });

  it.for(['bad-shards.yaml', 'bad-secret-in-config.yaml', 'bad-typo.yaml', 'bad-account-id.yaml'])(
    'refuses %s at install (values.schema.json)',
    (file, ctx) => {
      const helm = tool('helm', ctx);
      const result = spawnSync(helm, ['template', 'exporter', CHART, '-f', join(FIXTURES, file)], { encoding: 'utf8' });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/values don't meet the specifications of the schema|schema/);
    },
  );
});

describe('kustomizations', () => {
  const kustomize = (kubectl: string, dir: string): Manifest[] =>
    parseAllDocuments(execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);

  it('deploy/kubernetes needs no CRDs: the Prometheus Operator objects and the dashboards are optional components', (ctx) => {
    const docs = kustomize(tool('kubectl', ctx), join(root, 'deploy/kubernetes'));
    expect(kinds(docs)).toEqual(['ConfigMap', 'Deployment', 'Service']);
  });

  it('the kube-prometheus-stack overlay adds a ServiceMonitor and PrometheusRule with the release label it selects, and the dashboards as sidecar ConfigMaps', (ctx) => {
    const docs = kustomize(tool('kubectl', ctx), join(root, 'deploy/kube-prometheus-stack'));
    const [monitor] = one(docs, 'ServiceMonitor');
    const [rule] = one(docs, 'PrometheusRule');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(rule.spec.groups).toEqual(parse(readFileSync(join(root, 'prometheus/alerts.yml'), 'utf8')).groups);
    const dashboards = one(docs, 'ConfigMap').filter((c: Manifest) => c.metadata.labels?.grafana_dashboard === '1');
    const shipped = readdirSync(join(root, 'grafana/dashboards')).sort();
    expect(dashboards.flatMap((c: Manifest) => Object.keys(c.data)).sort()).toEqual(shipped);
    for (const c of dashboards) {
      for (const [file, json] of Object.entries(c.data)) expect(json, file).toBe(readFileSync(join(root, 'grafana/dashboards', file), 'utf8'));
    }
    for (const doc of docs) expect(doc.metadata.namespace, `${doc.kind} ${doc.metadata.name}`).toBe('monitoring');
  });

  it('puts the recommended app.kubernetes.io labels on the pod template, and the image users change in one place', (ctx) => {
    const kubectl = tool('kubectl', ctx);
    for (const dir of ['deploy/kubernetes', 'deploy/kubernetes-sharded']) {
      const [workload] = kustomize(kubectl, join(root, dir)).filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet');
      expect(workload.spec.template.metadata.labels, dir).toMatchObject({
        'app.kubernetes.io/name': 'cloudflare-tunnel-exporter',
        'app.kubernetes.io/instance': 'cloudflare-tunnel-exporter',
        'app.kubernetes.io/version': chartVersion,
        'app.kubernetes.io/component': 'exporter',
        'app.kubernetes.io/part-of': 'cloudflare-tunnel-exporter',
      });
      expect(container(workload).image, dir).toBe(`ghcr.io/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter:${chartVersion}`);
    }
    // An overlay's `images:` changes it everywhere.
    const overlay = mkdtempSync(join(tmpdir(), 'overlay-'));
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `resources: [${relative(overlay, join(root, 'deploy/kubernetes'))}]\nimages:\n  - name: ghcr.io/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter\n    newName: registry.example.com/cte\n`,
    );
    const [deployment] = kustomize(kubectl, overlay).filter((d) => d.kind === 'Deployment');
    expect(container(deployment).image).toBe(`registry.example.com/cte:${chartVersion}`);
  });

  it('keep the job cloudflare-tunnel-exporter (what the rules and dashboards select) under a namePrefix overlay', (ctx) => {
    const kubectl = tool('kubectl', ctx);
    const overlay = mkdtempSync(join(tmpdir(), 'overlay-'));
    writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [${relative(overlay, join(root, 'deploy/kube-prometheus-stack'))}]\nnamePrefix: team-a-\n`);
    const docs = parseAllDocuments(execFileSync(kubectl, ['kustomize', overlay], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);
    const [monitor] = docs.filter((d) => d.kind === 'ServiceMonitor');
    const [service] = docs.filter((d) => d.kind === 'Service');
    expect(service.metadata.name).toBe('team-a-cloudflare-tunnel-exporter');
    // The Prometheus Operator takes the job from the Service label jobLabel names, not from the Service's (prefixed) name.
    expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(service.metadata.labels[monitor.spec.jobLabel]).toBe('cloudflare-tunnel-exporter');
  });

  it("the chart's ServiceMonitor keeps the job whatever the release is called", (ctx) => {
    const docs = render(tool('helm', ctx), 'everything.yaml');
    const [monitor] = one(docs, 'ServiceMonitor');
    const [service] = one(docs, 'Service');
    expect(service.metadata.labels[monitor.spec.jobLabel]).toBe('cloudflare-tunnel-exporter');
  });

  it.for(['deploy/kubernetes', 'deploy/kube-prometheus-stack', 'deploy/kubernetes-sharded'])('kubectl kustomize %s renders valid objects', (dir, ctx) => {
    const kubectl = tool('kubectl', ctx);
    const docs = parseAllDocuments(execFileSync(kubectl, ['kustomize', join(root, dir)], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);
    for (const doc of docs) {
      const Model = MODELS[doc.kind];
      expect(Model, doc.kind).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(doc).validate(), `${dir}: ${doc.kind}`).not.toThrow();
    }
    const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet');
    expect(workloads).toHaveLength(1);
    const [configMap] = docs.filter((d) => d.kind === 'ConfigMap' && !d.metadata.labels?.grafana_dashboard);
    expect(container(workloads[0]).envFrom[0].configMapRef.name).toBe(configMap.metadata.name);
    if (dir.endsWith('sharded')) {
      expect(workloads[0].kind).toBe('StatefulSet');
      expect(workloads[0].spec.replicas).toBe(Number(configMap.data.TOTAL_SHARDS));
      expect(envOf(workloads[0]).POD_NAME).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    }
  });
});
