// README documents SPEC's interface: every environment variable and every metric must appear.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config/schema.js';
import { createExporterMetrics } from '../src/metrics/registry.js';
import { createSnapshotStore } from '../src/state/store.js';
import { declaredFamilies } from './helpers/exposition.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration variable and flag', () => {
    for (const s of SETTINGS) {
      if ('env' in s) expect(readme, s.env).toContain(`\`${s.env}\``);
      if ('flag' in s) expect(readme, s.flag).toContain(`\`--${s.flag}\``);
      expect(readme, s.key).toContain(`\`${s.key}`);
    }
  });

  it('documents every metric the exporter registers', async () => {
    const metrics = createExporterMetrics({ snapshot: createSnapshotStore().snapshot, staleDataMaxAgeMs: 1, intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 } });
    const names = declaredFamilies(await metrics.renderOwn()).map((m) => m.name);
    expect(names).toHaveLength(39);
    for (const name of names) expect(readme, name).toContain(`\`${name}\``);
  });
});
