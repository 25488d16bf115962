// The committed Grafana dashboards are exactly what src/generators/dashboards generates, and every query
// names only metrics the exporter exposes (or Prometheus' own `up`).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS } from '../../src/generators/dashboards/definitions.js';
import { renderDashboard } from '../../src/generators/dashboards/json.js';
import { withJobSelector } from '../../src/generators/dashboards/panels.js';
import { createExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { declaredFamilies } from '../helpers/exposition.js';
import { dashboardQueries, metricNames } from '../helpers/promql.js';

const dir = new URL('../../grafana/dashboards/', import.meta.url);

async function exposedNames(): Promise<Set<string>> {
  const metrics = createExporterMetrics({
    snapshot: createSnapshotStore().snapshot,
    staleDataMaxAgeMs: 1,
    intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
  });
  const names = new Set(['up']);
  for (const m of declaredFamilies(await metrics.renderOwn())) {
    names.add(m.name);
    if (m.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

describe('Grafana dashboards', () => {
  it('the committed JSON is what npm run dashboards generates', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(DASHBOARDS).sort());
    for (const [file, model] of Object.entries(DASHBOARDS)) expect(readFileSync(new URL(file, dir), 'utf8'), file).toBe(renderDashboard(model));
  });

  it('every query names only metrics the exporter exposes', async () => {
    const known = await exposedNames();
    let checked = 0;
    for (const [file, model] of Object.entries(DASHBOARDS)) {
      for (const expr of dashboardQueries(model)) {
        const names = metricNames(expr);
        expect(names.length, `${file}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) expect(known.has(name), `${file}: unknown metric ${name} in ${expr}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('selects one exporter job in every query and variable (another exporter uses some of the same names)', () => {
    for (const [file, model] of Object.entries(DASHBOARDS)) {
      const list = (model.templating as { list: { name: string; query?: { query: string } }[] }).list;
      expect(
        list.map((v) => v.name),
        file,
      ).toContain('job');
      // The job variable's own query lists the jobs, so it selects none (dashboardQueries unwraps label_values).
      const jobQueries = ['label_values(cloudflare_tunnel_exporter_build_info, job)', 'cloudflare_tunnel_exporter_build_info'];
      const queries = [...dashboardQueries(model), ...list.filter((v) => v.name !== 'job').map((v) => v.query?.query)].filter(
        (q): q is string => typeof q === 'string' && !jobQueries.includes(q),
      );
      for (const expr of queries) {
        for (const selector of expr.matchAll(/\b(?:cloudflare|posthog)_[a-z0-9_]+\b(\{[^}]*\})?/g))
          expect(selector[0], `${file}: ${expr}`).toMatch(/\{job=~"\$job"|job=~"\$job"/);
        expect(withJobSelector(expr), `${file}: ${expr}`).toBe(expr);
      }
    }
    expect(withJobSelector('sum(rate(cloudflare_x_total[5m])) / cloudflare_y{a="b"}')).toBe(
      'sum(rate(cloudflare_x_total{job=~"$job"}[5m])) / cloudflare_y{job=~"$job",a="b"}',
    );
  });

  it('links: the fleet table opens the tunnel detail with the tunnel selected, every other dashboard links back', () => {
    const fleet = DASHBOARDS['fleet-overview.json'] as {
      panels: { title: string; fieldConfig: { overrides: { matcher: { options: string }; properties: { id: string; value: { url: string }[] }[] }[] } }[];
    };
    const table = fleet.panels.find((p) => p.title === 'Tunnels');
    const link = table?.fieldConfig.overrides.find((o) => o.matcher.options === 'Tunnel')?.properties.find((p) => p.id === 'links')?.value[0]?.url;
    const detail = DASHBOARDS['tunnel-detail.json'] as { uid: string; templating: { list: { name: string }[] } };
    expect(link).toContain(`/d/${detail.uid}?`);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's data link variables
    for (const v of ['var-tunnel=${__data.fields["Tunnel ID"]}', 'var-account_id=${__data.fields.Account}', 'var-job=${job}']) expect(link).toContain(v);
    expect(detail.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['tunnel', 'account_id']));
    for (const [file, model] of Object.entries(DASHBOARDS)) {
      if (file === 'fleet-overview.json') continue;
      expect(
        (model.links as { url?: string }[]).some((l) => l.url === `/d/${(fleet as unknown as { uid: string }).uid}`),
        file,
      ).toBe(true);
    }
  });

  it('the tunnel detail selects one tunnel by its id, and shows its name: two tunnels of one name (in two accounts) never add up', () => {
    const detail = DASHBOARDS['tunnel-detail.json'] as { templating: { list: { name: string; regex?: string; query: { query: string } }[] } };
    const exprs = dashboardQueries(detail as never);
    expect(exprs.some((e) => e.includes('tunnel_name=~"$tunnel"'))).toBe(false);
    expect(exprs.filter((e) => e.includes('"$tunnel"')).every((e) => e.includes('tunnel_id=~"$tunnel"'))).toBe(true);
    const tunnel = detail.templating.list.find((v) => v.name === 'tunnel');
    expect(tunnel?.query.query).toContain('tunnel_id, tunnel_name');
    // Grafana's named groups: the value is the id, the text the name.
    expect(tunnel?.regex).toContain('(?<value>');
    expect(tunnel?.regex).toContain('(?<text>');
  });

  it('carries __requires for grafana.com, and asks on import only for inputs it uses (its datasource variable picks the Prometheus)', () => {
    for (const [file, model] of Object.entries(DASHBOARDS)) {
      const json = JSON.stringify({ ...model, __inputs: undefined });
      for (const input of (model.__inputs ?? []) as { name: string }[])
        expect(json, `${file}: \${${input.name}} is asked for and never used`).toContain(`\${${input.name}}`);
      const requires = (model.__requires as { type: string; id: string }[]).map((r) => `${r.type}:${r.id}`);
      expect(requires, file).toEqual(expect.arrayContaining(['grafana:grafana', 'datasource:prometheus']));
      for (const p of model.panels as { type: string }[]) if (p.type !== 'row') expect(requires, file).toContain(`panel:${p.type}`);
    }
  });

  it('the metric extractor catches a misspelt metric', () => {
    expect(metricNames('sum by (colo) (cloudflare_tunnel_conections{account_id=~"$account_id"})')).toEqual(['cloudflare_tunnel_conections']);
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))')).toEqual(['x_bucket']);
  });

  it('has a datasource variable, units and a description on every panel, and $__rate_interval for rates', () => {
    for (const [file, model] of Object.entries(DASHBOARDS)) {
      const list = (model.templating as { list: { name: string; type: string }[] }).list;
      expect(list[0], file).toMatchObject({ name: 'datasource', type: 'datasource' });
      for (const p of model.panels as {
        type: string;
        title: string;
        description?: string;
        fieldConfig?: { defaults: { unit?: string } };
        targets?: { expr: string }[];
      }[]) {
        if (p.type === 'row') continue;
        expect(p.description, `${file} ${p.title}`).toBeTruthy();
        expect(p.fieldConfig?.defaults.unit, `${file} ${p.title}`).toBeTruthy();
        for (const t of p.targets ?? []) if (/\brate\(/.test(t.expr)) expect(t.expr, `${file} ${p.title}`).toContain('[$__rate_interval]');
      }
    }
  });

  it('the alert rules also name only exposed metrics', async () => {
    const known = await exposedNames();
    const rules = (
      parse(readFileSync(new URL('../../prometheus/alerts.yml', import.meta.url), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    for (const r of rules) for (const name of metricNames(r.expr)) expect(known.has(name), `${r.alert}: ${name}`).toBe(true);
  });
});
