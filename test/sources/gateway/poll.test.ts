import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createExporterMetrics } from '../../../src/metrics/exporter-metrics.js';
import { createSnapshotStore } from '../../../src/snapshot/store.js';
import { createGatewayPoller } from '../../../src/sources/gateway/poll.js';
import { createPollReporter } from '../../../src/sources/poll.js';
import { samples } from '../../helpers/exposition.js';
import { cloudflareClient, simulator } from '../../helpers/simulator.js';

describe('Gateway proxy endpoints poller', () => {
  it('gives an endpoint id the API repeats one series, not two', async () => {
    const sim = await simulator({ fleet: { accounts: 1, proxyEndpointsPerAccount: 2 } });
    const account = sim.fleet.accounts[0];
    const first = account?.proxyEndpoints[0];
    if (!account || !first) throw new Error('no endpoint');
    account.proxyEndpoints.push({ ...first });
    const store = createSnapshotStore();
    const metrics = createExporterMetrics({
      snapshot: store.snapshot,
      staleDataMaxAgeMs: 600_000,
      intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
    });
    const poll = createGatewayPoller({ client: cloudflareClient(sim), accountId: account.id, store, reporter: createPollReporter(silentLogger()) });
    await poll(new AbortController().signal);
    const text = await metrics.renderOwn();
    expect(samples(text, 'cloudflare_gateway_proxy_endpoint_info', { endpoint_id: first.id })).toHaveLength(1);
    expect(samples(text, 'cloudflare_gateway_proxy_endpoint_ip_ranges')).toHaveLength(2);
  });
});
