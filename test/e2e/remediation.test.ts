// The built daemon with remediation on and in dry-run, against the simulator: which writes reach
// the API. Schedules are every second and STALE_CONNECTOR_AFTER is 2s so it all happens quickly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRandom, rotateConnector } from '../../src/simulator/fleet.js';
import type { Simulator } from '../../src/simulator/server.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { value } from '../helpers/exposition.js';
import { simulator } from '../helpers/simulator.js';

async function fleet(): Promise<Simulator> {
  const sim = await simulator({
    fleet: { accounts: 1, tunnelsPerAccount: 4, warpConnectorsPerAccount: 0, recordsPerOrganization: 9, maxProxyRecords: 20 },
    rateLimit: { limit: 100_000, windowSeconds: 300 },
  });
  const healthy = sim.fleet.accounts[0]?.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
  if (healthy) rotateConnector(healthy, Date.now(), createRandom(1));
  return sim;
}

/** The daemon's environment; `method` null leaves PROXY_RECORD_RETRY_METHOD unset (the default). */
function env(sim: Simulator, mode: string, method: string | null = 'retry'): Record<string, string> {
  return {
    CLOUDFLARE_API_TOKEN: sim.credentials.cloudflareToken,
    CLOUDFLARE_ACCOUNT_IDS: sim.accountIds.join(','),
    CLOUDFLARE_API_BASE_URL: sim.cloudflareBaseUrl,
    CLOUDFLARE_API_BUDGET: '100000',
    // The simulator allows this test far more than Cloudflare's 1200.
    CLOUDFLARE_API_LIMIT: '100000',
    POSTHOG_API_KEY: sim.credentials.posthogKey,
    POSTHOG_ORGANIZATION_IDS: sim.organizationIds.join(','),
    POSTHOG_API_BASE_URL: sim.posthogBaseUrl,
    TUNNELS_SCHEDULE: '* * * * * *',
    PROXY_RECORDS_SCHEDULE: '* * * * * *',
    STALE_CONNECTOR_AFTER: '2s',
    REMEDIATE_STALE_CONNECTORS: mode,
    REMEDIATE_PROXY_RECORDS: mode,
    ...(method ? { PROXY_RECORD_RETRY_METHOD: method } : {}),
  };
}

describe('the daemon remediating', () => {
  it('on: one DELETE with client_id for the stale connector; retry/ is refused to the personal API key once, and never sent again', async () => {
    const sim = await fleet();
    const stale = sim.fleet.accounts[0]?.tunnels.find((t) => t.status === 'degraded' && t.connectors[0]?.conns.length === 0);
    const staleId = stale?.connectors[0]?.id;
    const daemon = await startDaemon([], env(sim, 'on'));
    await waitFor('the DELETE', async () => (sim.requests.some((r) => r.method === 'DELETE') ? true : undefined), 20_000);
    await waitFor(
      'a few more record polls',
      async () => (sim.requests.filter((r) => r.endpoint === 'proxy_records.list').length >= 4 ? true : undefined),
      20_000,
    );
    const writes = sim.requests.filter((r) => r.method !== 'GET');
    expect(writes.filter((r) => r.method === 'DELETE')).toEqual([expect.objectContaining({ query: { client_id: staleId }, status: 200 })]);
    expect(writes.filter((r) => r.method === 'POST')).toEqual([expect.objectContaining({ endpoint: 'proxy_records.retry', status: 403 })]);
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'cleanup_connector', mode: 'live' })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'retry_proxy_record', mode: 'live' })).toBe(0);
    expect(
      value(text, 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'retry_proxy_record', reason: 'credential_not_allowed' }),
    ).toBeGreaterThanOrEqual(2);
    expect(daemon.stdout().match(/PostHog refuses this credential on proxy record retry/g)).toHaveLength(1);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it('on with no method set (recreate, the default) and a personal API key: each failed record deleted and created again, no domain lost', async () => {
    const sim = await fleet();
    const org = sim.fleet.organizations[0];
    const failed = org?.records.filter((r) => r.status === 'erroring' || r.status === 'timed_out') ?? [];
    const domains = org?.records.map((r) => r.domain).sort();
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    const daemon = await startDaemon([], { ...env(sim, 'on', null), REMEDIATE_STALE_CONNECTORS: 'off', REMEDIATION_STATE_FILE: stateFile });
    await waitFor(
      'the creates',
      async () => (sim.requests.filter((r) => r.endpoint === 'proxy_records.create').length === failed.length ? true : undefined),
      20_000,
    );
    expect(
      sim.requests
        .filter((r) => r.endpoint === 'proxy_records.delete')
        .map((r) => r.path)
        .sort(),
    ).toEqual(failed.map((r) => `/api/organizations/${org?.id}/proxy_records/${r.id}/`).sort());
    expect(sim.requests.some((r) => r.endpoint === 'proxy_records.retry')).toBe(false);
    expect(org?.records.map((r) => r.domain).sort()).toEqual(domains);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });

  it('dry-run: no write reaches the API, and the decisions are counted', async () => {
    const sim = await fleet();
    const daemon = await startDaemon([], env(sim, 'dry-run'));
    const text = await waitFor(
      'dry-run decisions',
      async () => {
        const body = await (await fetch(`${daemon.url}/metrics`)).text();
        return value(body, 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'cleanup_connector', mode: 'dry_run' }) === 1 ? body : undefined;
      },
      20_000,
    );
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'retry_proxy_record', mode: 'dry_run' })).toBe(2);
    expect(sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(daemon.stdout()).toContain('"outcome":"would_act"');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });
});
