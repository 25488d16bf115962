// Every snapshot family has samples in a fleet with every kind of series, each with the labels of its table entry, in order.
import { describe, expect, it } from 'vitest';
import { createExporter } from '../../src/exporter.js';
import { silentLogger } from '../../src/log.js';
import { domainFamilies } from '../../src/metrics/families.js';
import { parseExposition } from '../helpers/exposition.js';
import { simulator, simulatorConfig, WITH_REACH } from '../helpers/simulator.js';

describe('metric labels', () => {
  it("match each family's documented labels for a fleet with every kind of series", async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8, warpConnectorsPerAccount: 1 } });
    const exporter = createExporter({ config: simulatorConfig(sim, WITH_REACH), log: silentLogger() });
    await exporter.start();
    try {
      await exporter.ready();
      await exporter.connectionsSettled();
      const samples = parseExposition(await exporter.metrics.renderOwn());
      const families = domainFamilies();
      for (const family of families) {
        const own = samples.filter((s) => s.name === family.name);
        expect(own.length, family.name).toBeGreaterThan(0);
        for (const s of own) expect(Object.keys(s.labels), family.name).toEqual(family.labels);
      }
    } finally {
      await exporter.stop();
    }
  });
});
