// The user-facing docs live in the repository and match what the exporter does: docs/metrics.md
// lists exactly the families /metrics exposes (name, type, labels), docs/configuration.md is what
// the settings table generates, and the README mentions no file outside the repository.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config/schema.js';
import { renderConfigurationDoc } from '../src/generators/configuration-doc.js';
import { renderReadmeCounts } from '../src/generators/readme.js';
import { createExporterMetrics } from '../src/metrics/exporter-metrics.js';
import { domainFamilies } from '../src/metrics/families.js';
import { createSnapshotStore } from '../src/snapshot/store.js';
import { declaredFamilies } from './helpers/exposition.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const T = ['account_id', 'tunnel_id', 'tunnel_name', 'tunnel_type'];
const intervals = { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 };

/** The metrics table of docs/metrics.md: name -> { type, labels }. */
function documentedMetrics(): Map<string, { type: string; labels: string[] }> {
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const line of read('docs/metrics.md').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([a-z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const labels = [...(cells[3] ?? '').matchAll(/`([^`]+)`/g)]
      .flatMap((m) => (m[1] as string).split(',').map((l) => l.trim()))
      .flatMap((l) => (l === '<T>' ? T : [l]));
    out.set(name, { type: cells[2] as string, labels });
  }
  return out;
}

describe('docs/metrics.md', () => {
  it('lists exactly the families /metrics exposes, with their types', async () => {
    const metrics = createExporterMetrics({ snapshot: createSnapshotStore().snapshot, staleDataMaxAgeMs: 1, intervals });
    const exposed = declaredFamilies(await metrics.renderOwn());
    const documented = documentedMetrics();
    expect([...documented.keys()].sort()).toEqual(exposed.map((f) => f.name).sort());
    for (const f of exposed) expect(documented.get(f.name)?.type, f.name).toBe(f.type);
  });

  it('gives every snapshot family the labels it really has, in order', () => {
    const documented = documentedMetrics();
    for (const family of domainFamilies()) expect(documented.get(family.name)?.labels, family.name).toEqual(family.labels);
  });
});

describe('README.md', () => {
  it('says how many alerts ship, as npm run generate counts them in prometheus/alerts.yml', () => {
    const readme = read('README.md');
    expect(readme).toMatch(/<!-- alert-count -->\d+ alerts<!-- \/alert-count -->/);
    expect(readme).toBe(renderReadmeCounts(readme, read('prometheus/alerts.yml')));
    // The count is the rules', not a number typed once: one alert more is one more in the README.
    const oneMore = read('prometheus/alerts.yml').replace(
      '  - alert: CloudflareTunnelDown',
      '  - alert: Extra\n        expr: vector(1)\n      - alert: CloudflareTunnelDown',
    );
    expect(renderReadmeCounts(readme, oneMore)).not.toBe(readme);
  });
});

describe('docs/configuration.md', () => {
  it('is what npm run generate writes from the settings table', () => {
    expect(read('docs/configuration.md')).toBe(renderConfigurationDoc());
  });

  it('documents every variable, flag and YAML key', () => {
    const doc = read('docs/configuration.md');
    for (const s of SETTINGS) {
      if ('env' in s) expect(doc, s.env).toContain(`\`${s.env}\``);
      if ('flag' in s) expect(doc, s.flag).toContain(`\`--${s.flag}\``);
      expect(doc, s.key).toContain(`\`${s.key}\``);
    }
  });
});

describe('README', () => {
  it('links only to files that exist in the repository', () => {
    const readme = read('README.md');
    const links = [...readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map((m) => m[1] as string).filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) {
      expect(link, link).not.toMatch(/^\.\./);
      expect(existsSync(new URL(`../${link}`, import.meta.url)), link).toBe(true);
    }
  });
});
