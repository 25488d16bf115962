// The whole remediation pipeline against the simulator: real clients, real pollers, a fake clock.
// Asserts what reaches the API (the simulator's request log), the counters and the audit log.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createExporterMetrics } from '../../src/metrics/registry.js';
import { createPollReporter } from '../../src/pollers/poll.js';
import { createProxyRecordsPoller } from '../../src/pollers/sources.js';
import { createTunnelsPoller } from '../../src/pollers/tunnels.js';
import { createRemediation } from '../../src/remediation/engine.js';
import { createRandom, newConnector, refillConnections, rotateConnector, setProxyRecordStatus, setTunnelStatus, type SimTunnel } from '../../src/simulator/fleet.js';
import type { Simulator } from '../../src/simulator/server.js';
import { createSnapshotStore } from '../../src/state/store.js';
import { value } from '../helpers/exposition.js';
import { cloudflareClient, posthogClient, simulator, simulatorConfig } from '../helpers/simulator.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-01T12:00:00Z');

interface HarnessOptions {
  remediation?: Partial<Config['remediation']>;
  /** Healthy tunnels to rotate (each gets one stale connector next to an active one). */
  rotate?: number;
}

async function harness(options: HarnessOptions = {}, reuse?: { sim: Simulator; clock: { t: number } }) {
  const clock = reuse?.clock ?? { t: T0 };
  const now = () => clock.t;
  const sim = reuse?.sim ?? (await simulator({ now, fleet: { accounts: 1, tunnelsPerAccount: 8, recordsPerOrganization: 9 } }));
  const account = sim.fleet.accounts[0];
  if (!account) throw new Error('no account');
  if (!reuse) {
    const random = createRandom(5);
    // A fleet where stale connectors are the exception, as in life: only the one down tunnel.
    for (const t of account.tunnels.filter((x) => x.deleted_at === null && x.tun_type === 'cfd_tunnel' && x.status !== 'inactive' && x.status !== 'down')) {
      setTunnelStatus(t, 'healthy', clock.t, random);
    }
    const healthy = account.tunnels.filter((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    for (const t of healthy.slice(0, options.rotate ?? 1)) rotateConnector(t, clock.t, random);
  }
  const config = simulatorConfig(sim, {
    remediation: { staleConnectors: 'on', proxyRecords: 'off', staleConnectorAfterMs: 15 * MIN, cooldownMs: 60 * MIN, maxActionsPerHour: 10, ...options.remediation },
  });
  const store = createSnapshotStore();
  const intervals = { tunnelsSeconds: 300, gatewaySeconds: 300, proxyRecordsSeconds: 300 };
  const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals, now });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } as never });
  const reporter = createPollReporter(log, now);
  const cf = cloudflareClient(sim, { now });
  const ph = posthogClient(sim, { now });
  const pollTunnels = createTunnelsPoller({ client: cf, accountId: account.id, store, reporter, now });
  const org = sim.fleet.organizations[0];
  const pollRecords = createProxyRecordsPoller({ client: ph, organizationId: org?.id as string, store, reporter });
  const remediation = createRemediation({ config, store, clients: { cloudflare: cf, posthog: ph }, counters: metrics.remediation, log, now, intervals });
  remediation.start();
  const signal = new AbortController().signal;
  return {
    sim,
    clock,
    account,
    org: org as NonNullable<typeof org>,
    lines,
    decisions: () => lines.filter((l) => l.msg === 'remediation decision'),
    metrics: () => metrics.renderOwn(),
    /** Advances the clock, polls tunnels (and records) and waits for remediation to finish. */
    async pollAt(minutes: number) {
      clock.t = T0 + minutes * MIN;
      await pollTunnels(signal);
      await pollRecords(signal);
      await remediation.idle();
    },
    stop: () => remediation.stop(),
    /** Runs `fn` once, right after the next connections poll is recorded (before remediation acts). */
    onPolled(fn: () => void) {
      const off = store.subscribe((_s, change) => {
        if (change.collector === 'connections') {
          off();
          fn();
        }
      });
    },
  };
}

const rotated = (sim: Simulator): SimTunnel[] =>
  sim.fleet.accounts[0]?.tunnels.filter((t) => t.connectors.length >= 2 && t.connectors[0]?.conns.every((c) => c.is_pending_reconnect) && t.status === 'degraded') ?? [];
const deletes = (sim: Simulator) => sim.requests.filter((r) => r.method === 'DELETE');
const posts = (sim: Simulator) => sim.requests.filter((r) => r.method === 'POST');

describe('stale connector remediation', () => {
  it('sends exactly one DELETE with the stale connector as client_id, once it has been stale long enough', async () => {
    const h = await harness();
    const [tunnel] = rotated(h.sim);
    const staleId = tunnel?.connectors[0]?.id as string;
    const siblingActive = tunnel?.connectors.slice(1).flatMap((c) => c.conns).filter((c) => !c.is_pending_reconnect).length;
    await h.pollAt(0);
    await h.pollAt(10);
    expect(deletes(h.sim)).toEqual([]);
    await h.pollAt(15);
    expect(deletes(h.sim)).toEqual([expect.objectContaining({ path: `/client/v4/accounts/${h.account.id}/cfd_tunnel/${tunnel?.id}/connections`, query: { client_id: staleId } })]);
    expect(tunnel?.connectors.map((c) => c.id)).not.toContain(staleId);
    await h.pollAt(20);
    await h.pollAt(40);
    expect(deletes(h.sim)).toHaveLength(1);

    const text = await h.metrics();
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'cleanup_connector', mode: 'live' })).toBe(1);
    const done = h.decisions().find((d) => d.outcome === 'done');
    expect(done).toMatchObject({
      action: 'cleanup_connector',
      mode: 'on',
      target: { account_id: h.account.id, tunnel_id: tunnel?.id, tunnel_name: tunnel?.name, connector_id: staleId },
      reason: 'connector has had no active connection for 15m',
      evidence: { stale_for: '15m', sibling_active_connections: siblingActive },
    });
  });

  it("never touches a tunnel whose only connector is stale (a down tunnel's connectors)", async () => {
    const h = await harness({ rotate: 0 });
    const down = h.account.tunnels.find((t) => t.status === 'down');
    if (!down) throw new Error('no down tunnel');
    down.conns_inactive_at = new Date(T0).toISOString();
    for (const m of [0, 10, 20, 30]) await h.pollAt(m);
    expect(deletes(h.sim)).toEqual([]);
    expect(h.decisions().filter((d) => d.skip_reason === 'no_active_sibling').length).toBeGreaterThan(0);
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'cleanup_connector', reason: 'no_active_sibling' })).toBeGreaterThan(0);
  });

  it('does not act on a poll that failed', async () => {
    const h = await harness();
    await h.pollAt(0);
    await h.pollAt(10);
    h.sim.setFaults([{ endpoint: 'connections.list', pathIncludes: h.account.tunnels.find((t) => t.status === 'healthy')?.id as string, status: 500 }]);
    await h.pollAt(20);
    expect(deletes(h.sim)).toEqual([]);
    expect(h.decisions().at(-1)).toMatchObject({ outcome: 'skipped', skip_reason: 'source_failed' });
  });

  it('re-reads the tunnel before acting: a connector that came back is left alone', async () => {
    const h = await harness();
    const [tunnel] = rotated(h.sim);
    const stale = tunnel?.connectors[0];
    await h.pollAt(0);
    // The connector reconnects after the poll at minute 15 read it, before remediation re-reads.
    h.onPolled(() => {
      if (stale) refillConnections(stale, h.clock.t, createRandom(11));
    });
    const before = h.sim.requests.length;
    await h.pollAt(15);
    expect(deletes(h.sim)).toEqual([]);
    const reads = h.sim.requests.slice(before).filter((r) => r.endpoint === 'connections.list' && r.path.includes(tunnel?.id as string));
    expect(reads).toHaveLength(2); // the poll, then the re-read
    expect(h.decisions().at(-1)).toMatchObject({ outcome: 'skipped', skip_reason: 'resolved', reason: 'the connector has an active connection again' });
  });

  it('respects the hourly budget and the per-target cooldown, and counts a failure', async () => {
    const h = await harness({ rotate: 2, remediation: { maxActionsPerHour: 1 } });
    h.sim.setFaults([{ endpoint: 'connections.delete', status: 500 }]);
    await h.pollAt(0);
    await h.pollAt(15);
    expect(deletes(h.sim)).toHaveLength(1);
    const text = await h.metrics();
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_action_failures_total', { action: 'cleanup_connector' })).toBe(1);
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'cleanup_connector', reason: 'hourly_limit' })).toBe(1);
    h.sim.setFaults([]);
    await h.pollAt(30);

    // The failed target is cooling down; the other one is still over the hourly budget.
    expect(deletes(h.sim)).toHaveLength(1);
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'cleanup_connector', reason: 'cooldown' })).toBe(1);
    await h.pollAt(76);
    expect(deletes(h.sim)).toHaveLength(2);
  });

  it('acts on none when more than half of the connected tunnels\' connectors look stale at once', async () => {
    const h = await harness({ rotate: 0 });
    // Every connected tunnel suddenly shows four extra connectors without an active connection.
    const random = createRandom(9);
    for (const t of h.account.tunnels.filter((x) => x.tun_type === 'cfd_tunnel' && x.status === 'healthy')) {
      for (let i = 0; i < 4; i++) {
        const ghost = newConnector(random, T0);
        ghost.conns = [];
        t.connectors.push(ghost);
      }
    }
    await h.pollAt(0);
    await h.pollAt(20);
    expect(deletes(h.sim)).toEqual([]);
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'cleanup_connector', reason: 'blast_radius' })).toBeGreaterThan(0);
    expect(h.decisions().find((d) => d.skip_reason === 'blast_radius')?.reason).toMatch(/^\d+% of the account's connectors have no active connection/);
  });

  it('acts when the only other stale-looking connectors belong to a down tunnel', async () => {
    const h = await harness({ rotate: 1 });
    // Fleet: one rotated tunnel (one stale connector next to active ones) and a down tunnel whose
    // connectors all wait to reconnect; the down tunnel must not trip the blast-radius guard.
    const [rotatedTunnel] = rotated(h.sim);
    const random = createRandom(4);
    for (const t of h.account.tunnels.filter((x) => x.status === 'healthy' && x !== rotatedTunnel)) setTunnelStatus(t, 'inactive', T0, random);
    const down = h.account.tunnels.find((t) => t.status === 'down');
    if (!down) throw new Error('no down tunnel');
    down.conns_inactive_at = new Date(T0).toISOString();
    down.connectors = [0, 1, 2].map(() => newConnector(random, T0));
    for (const c of down.connectors) c.conns = [];
    // Of all connectors in the account, most have no active connection (3 down + 1 stale, of 5
    // to 7); of the connected tunnel's, only one.
    await h.pollAt(0);
    await h.pollAt(15);
    expect(deletes(h.sim)).toHaveLength(1);
  });


  it('dry-run decides, logs and counts as on would, and sends nothing but reads', async () => {
    const h = await harness({ remediation: { staleConnectors: 'dry-run' } });
    const [tunnel] = rotated(h.sim);
    const connectors = tunnel?.connectors.length;
    await h.pollAt(0);
    await h.pollAt(15);
    await h.pollAt(20);
    expect(h.sim.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(tunnel?.connectors).toHaveLength(connectors as number);
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'cleanup_connector', mode: 'dry_run' })).toBe(1);
    expect(h.decisions().filter((d) => d.outcome === 'would_act')).toEqual([expect.objectContaining({ mode: 'dry-run', target: expect.objectContaining({ connector_id: tunnel?.connectors[0]?.id }) })]);
  });

  it('keeps cooldowns across a restart through REMEDIATION_STATE_FILE; a corrupt file means cooldown for all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remediation-'));
    const stateFile = join(dir, 'state.json');
    const first = await harness({ remediation: { stateFile } });
    first.sim.setFaults([{ endpoint: 'connections.delete', status: 503 }]);
    await first.pollAt(0);
    await first.pollAt(15);
    first.stop();
    expect(deletes(first.sim)).toHaveLength(1);

    first.sim.setFaults([]);
    const second = await harness({ remediation: { stateFile } }, { sim: first.sim, clock: first.clock });
    await second.pollAt(20);
    await second.pollAt(35);
    expect(deletes(first.sim)).toHaveLength(1);
    expect(second.decisions().some((d) => d.skip_reason === 'cooldown')).toBe(true);
    second.stop();

    writeFileSync(stateFile, '{not json');
    const third = await harness({ remediation: { stateFile } }, { sim: first.sim, clock: first.clock });
    expect(readdirSync(dir).some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
    expect(third.lines.some((l) => String(l.msg).includes('remediation state file is corrupt'))).toBe(true);
    await third.pollAt(80);
    expect(deletes(first.sim)).toHaveLength(1);
    await third.pollAt(95);
    expect(deletes(first.sim)).toHaveLength(2);
  });
});

describe('proxy record remediation', () => {
  it('retries each erroring or timed-out record once, and none in other statuses', async () => {
    const h = await harness({ rotate: 0, remediation: { staleConnectors: 'off', proxyRecords: 'on' } });
    const failed = h.org.records.filter((r) => r.status === 'erroring' || r.status === 'timed_out');
    expect(failed.length).toBe(2);
    await h.pollAt(0);
    expect(posts(h.sim).map((r) => r.path).sort()).toEqual(failed.map((r) => `/api/organizations/${h.org.id}/proxy_records/${r.id}/retry/`).sort());
    // Each was re-read right before its retry.
    for (const r of failed) {
      const i = h.sim.requests.findIndex((q) => q.method === 'POST' && q.path.includes(r.id));
      expect(h.sim.requests[i - 1]).toMatchObject({ method: 'GET', path: `/api/organizations/${h.org.id}/proxy_records/${r.id}/` });
    }
    await h.pollAt(1);
    expect(posts(h.sim)).toHaveLength(2);
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'retry_proxy_record', mode: 'live' })).toBe(2);
  });

  it('backs off per record, doubling, and gives up after 5 attempts', async () => {
    const h = await harness({ rotate: 0, remediation: { staleConnectors: 'off', proxyRecords: 'on', cooldownMs: 10 * MIN, maxActionsPerHour: 100 } });
    const record = h.org.records.find((r) => r.status === 'erroring');
    for (const r of h.org.records) if (r !== record && r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    const breakAgain = () => record && setProxyRecordStatus(record, 'erroring', h.clock.t);
    const times: number[] = [];
    for (let minute = 0; minute <= 24 * 60; minute += 5) {
      const before = posts(h.sim).length;
      await h.pollAt(minute);
      if (posts(h.sim).length > before) times.push(minute);
      breakAgain();
    }
    expect(times).toEqual([0, 10, 30, 70, 150]);
    expect(h.decisions().at(-1)).toMatchObject({ skip_reason: 'max_attempts', reason: 'gave up after 5 retries' });
  });
});
