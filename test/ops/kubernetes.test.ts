// deploy/kubernetes: every manifest validates against the Kubernetes and Prometheus Operator
// schemas (the kubernetes-models packages, which carry the OpenAPI schemas), the PrometheusRule is
// exactly the shipped prometheus/alerts.yml, and the Deployment is what an SRE expects: non-root, a
// read-only root filesystem, resources, probes on /-/healthy and /-/ready, secrets through *_FILE,
// and settings the exporter accepts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderPrometheusRule } from '../../src/generators/prometheus-rule.js';
import { runCli } from '../helpers/daemon.js';

const dir = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const read = (file: string) => readFileSync(join(dir, file), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: manifests are plain YAML data
const manifest = (file: string) => parse(read(file)) as any;
const kustomization = manifest('kustomization.yaml') as { resources: string[]; configMapGenerator: { name: string; envs: string[] }[] };

const MODELS: Record<string, new (data: unknown) => { validate(): void }> = {
  Deployment: Deployment as never,
  Service: Service as never,
  ServiceMonitor: ServiceMonitor as never,
  PrometheusRule: PrometheusRule as never,
};

describe('Kubernetes manifests', () => {
  it('every resource of the kustomization validates against its schema', () => {
    expect(kustomization.resources.sort()).toEqual(['deployment.yaml', 'service.yaml']);
    const component = parse(read('components/prometheus-operator/kustomization.yaml')) as { resources: string[] };
    expect(component.resources.sort()).toEqual(['prometheusrule.yaml', 'servicemonitor.yaml']);
    for (const file of [...kustomization.resources, ...component.resources.map((r) => `components/prometheus-operator/${r}`)]) {
      const doc = manifest(file);
      const Model = MODELS[doc.kind];
      expect(Model, `${file}: ${doc.kind}`).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(doc).validate(), file).not.toThrow();
    }
  });

  it('a schema violation is caught (the validation is real)', () => {
    const broken = manifest('deployment.yaml');
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'metrics';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  it('the PrometheusRule is exactly the shipped alert rules', () => {
    const alerts = readFileSync(fileURLToPath(new URL('../../prometheus/alerts.yml', import.meta.url)), 'utf8');
    expect(read('components/prometheus-operator/prometheusrule.yaml')).toBe(renderPrometheusRule(alerts));
    expect(manifest('components/prometheus-operator/prometheusrule.yaml').spec.groups).toEqual(parse(alerts).groups);
  });

  it('the Deployment runs non-root on a read-only root filesystem, with resources, probes and secrets through *_FILE', () => {
    const pod = manifest('deployment.yaml').spec.template.spec;
    const container = pod.containers[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toBeDefined();
    expect(container.livenessProbe.httpGet.path).toBe('/-/healthy');
    expect(container.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(container.ports[0].containerPort).toBe(9877);
    const secretMount = container.volumeMounts.find((m: { name: string }) => m.name === 'secrets');
    expect(pod.volumes.find((v: { name: string }) => v.name === 'secrets').secret.secretName).toBe('cloudflare-tunnel-exporter');
    const env = read(kustomization.configMapGenerator[0]?.envs[0] as string);
    expect(env).toMatch(new RegExp(`^CLOUDFLARE_API_TOKEN_FILE=${secretMount.mountPath}/`, 'm'));
    expect(env).not.toMatch(/^CLOUDFLARE_API_TOKEN=/m);
  });

  it("the ConfigMap's settings and the Deployment's environment pass --config.check", async () => {
    const secrets = mkdtempSync(join(tmpdir(), 'k8s-secrets-'));
    writeFileSync(join(secrets, 'cloudflare_api_token'), 'a-token');
    const env: Record<string, string> = {};
    for (const line of read('exporter.env').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1] as string] = (m[2] as string).replace('/run/secrets/cloudflare-tunnel-exporter', secrets);
    }
    for (const e of manifest('deployment.yaml').spec.template.spec.containers[0].env)
      env[e.name] = e.name === 'REMEDIATION_STATE_FILE' ? join(secrets, 'state.json') : e.value;
    const { code, stderr } = await runCli(['--config.check'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
