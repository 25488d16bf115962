// The whole remediation pipeline against the simulator: real clients, real pollers, a fake clock.
// Asserts what reaches the API (the simulator's request log), the counters and the audit log.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { steadyNow } from '../../src/clock.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { createExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { staleConnectorPolicy } from '../../src/remediation/delete-stale-connector.js';
import { createRemediation } from '../../src/remediation/engine.js';
import {
  createRandom,
  newConnector,
  refillConnections,
  rotateConnector,
  type SimTunnel,
  setProxyRecordStatus,
  setTunnelStatus,
} from '../../src/simulator/fleet.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/server.js';
import { createSnapshotStore } from '../../src/snapshot/store.js';
import { createPollReporter } from '../../src/sources/poll.js';
import { createProxyRecordsPoller } from '../../src/sources/proxy-records/poll.js';
import { createTunnelsPoller } from '../../src/sources/tunnels/poll.js';
import { createConnectionsRefresher } from '../../src/sources/tunnels/refresher.js';
import { value } from '../helpers/exposition.js';
import { cloudflareClient, posthogClient, simulator, simulatorConfig } from '../helpers/simulator.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-01T12:00:00Z');

interface HarnessOptions {
  remediation?: Partial<Config['remediation']>;
  simulator?: Partial<SimulatorOptions>;
  /** Healthy tunnels to rotate (each gets one stale connector next to an active one). */
  rotate?: number;
  /** The PostHog key of a member below admin instead of an admin's. */
  memberKey?: boolean;
}

async function harness(options: HarnessOptions = {}, reuse?: { sim: Simulator; clock: { t: number } }) {
  const clock = reuse?.clock ?? { t: T0 };
  const now = () => clock.t;
  const sim =
    reuse?.sim ??
    (await simulator({ now, ...options.simulator, fleet: { accounts: 1, tunnelsPerAccount: 8, recordsPerOrganization: 9, ...options.simulator?.fleet } }));
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
    remediation: { staleConnectors: 'on', proxyRecordRetryMethod: 'retry', ...options.remediation },
  });
  const store = createSnapshotStore();
  const intervals = { tunnelsSeconds: 300, gatewaySeconds: 300, proxyRecordsSeconds: 300 };
  const metrics = createExporterMetrics({ snapshot: store.snapshot, staleDataMaxAgeMs: 600_000, intervals, now });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    format: 'json',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } as never,
  });
  const reporter = createPollReporter(log, now);
  const cf = cloudflareClient(sim, { now });
  const ph = posthogClient(sim, { now, ...(options.memberKey ? { headers: { authorization: `Bearer ${sim.credentials.posthogMemberKey}` } } : {}) });
  const refresher = createConnectionsRefresher({ client: cf, store, intervalMs: 0, pace: () => ({ perSecond: 1, burst: 1000 }), now });
  const listTunnels = createTunnelsPoller({ client: cf, accountId: account.id, store, reporter, refresher });
  const pollTunnels = async (signal: AbortSignal) => {
    await listTunnels(signal);
    await refresher.drain();
  };
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
    remediation,
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

/** Tunnels whose first connector was left without connections by a token rotation. */
const rotated = (sim: Simulator): SimTunnel[] =>
  sim.fleet.accounts[0]?.tunnels.filter((t) => t.connectors.length >= 2 && t.connectors[0]?.conns.length === 0 && t.status === 'degraded') ?? [];
const deletes = (sim: Simulator) => sim.requests.filter((r) => r.method === 'DELETE');
/** The decisions about one tunnel's connectors. */
const decisionsFor = (h: Awaited<ReturnType<typeof harness>>, tunnelId: string | undefined) =>
  h.decisions().filter((d) => (d.target as { tunnel_id?: string }).tunnel_id === tunnelId);
const posts = (sim: Simulator) => sim.requests.filter((r) => r.method === 'POST');

describe('stale connector remediation', () => {
  it('sends exactly one DELETE with the stale connector as client_id, once it has been stale long enough', async () => {
    const h = await harness();
    const [tunnel] = rotated(h.sim);
    const staleId = tunnel?.connectors[0]?.id as string;
    const siblingActive = tunnel?.connectors
      .slice(1)
      .flatMap((c) => c.conns)
      .filter((c) => !c.is_pending_reconnect).length;
    await h.pollAt(0);
    await h.pollAt(10);
    expect(deletes(h.sim)).toEqual([]);
    await h.pollAt(15);
    expect(deletes(h.sim)).toEqual([
      expect.objectContaining({ path: `/client/v4/accounts/${h.account.id}/cfd_tunnel/${tunnel?.id}/connections`, query: { client_id: staleId } }),
    ]);
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
    // Stopped by the first guard, on the polled data: no re-read is spent on it.
    expect(h.sim.requests.filter((r) => r.endpoint === 'connections.list' && r.path.includes(down.id))).toHaveLength(4);
    expect(
      h
        .decisions()
        .filter((d) => d.skip_reason === 'no_active_sibling')
        .every((d) => d.reason === 'no other connector of this tunnel holds an active connection'),
    ).toBe(true);
    expect(
      value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'cleanup_connector', reason: 'no_active_sibling' }),
    ).toBeGreaterThan(0);
  });

  it('says a skip that repeats every cycle once per target and reason (the rest at debug), and lists each target once with its latest decision', async () => {
    const h = await harness({ rotate: 0 });
    const down = h.account.tunnels.find((t) => t.status === 'down');
    if (!down) throw new Error('no down tunnel');
    down.conns_inactive_at = new Date(T0).toISOString();
    for (const m of [0, 10, 20, 30, 40, 50]) await h.pollAt(m);
    const forDown = (l: Record<string, unknown>) => (l.target as { tunnel_id?: string } | undefined)?.tunnel_id === down.id;
    const skips = h.decisions().filter((d) => forDown(d) && d.skip_reason === 'no_active_sibling');
    const connectors = new Set(skips.map((d) => (d.target as { connector_id: string }).connector_id));
    expect(skips.length).toBeGreaterThan(connectors.size);
    // At info once per connector; every repeat at debug.
    expect(skips.filter((d) => d.level === 'info')).toHaveLength(connectors.size);
    expect(skips.filter((d) => d.level === 'debug')).toHaveLength(skips.length - connectors.size);
    // The landing page's list: each connector once.
    const listed = h.remediation.recent().filter((d) => d.target.tunnel_id === down.id);
    expect(listed.map((d) => d.target.connector_id).sort()).toEqual([...connectors].sort());
  });

  it('does not act when the tunnel list poll failed', async () => {
    const h = await harness();
    await h.pollAt(0);
    await h.pollAt(10);
    h.sim.setFaults([{ endpoint: 'tunnels.list', status: 500 }]);
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
    expect(decisionsFor(h, tunnel?.id).at(-1)).toMatchObject({
      outcome: 'skipped',
      skip_reason: 'resolved',
      reason: 'the connector has an active connection again',
    });
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

  it("acts on none when more than half of the connected tunnels' connectors look stale at once", async () => {
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
    expect(
      value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'cleanup_connector', reason: 'blast_radius' }),
    ).toBeGreaterThan(0);
    expect(h.decisions().find((d) => d.skip_reason === 'blast_radius')?.reason).toMatch(/^\d+% of the account's connectors have no active connection/);
  });

  it('acts on none when exactly half look stale: every HA pair lost one side at once', async () => {
    const h = await harness({ rotate: 0 });
    const random = createRandom(12);
    for (const t of h.account.tunnels.filter((x) => x.connectors.some((c) => c.conns.length > 0))) {
      const empty = newConnector(random, T0, { warp: t.tun_type === 'warp_connector' });
      empty.conns = [];
      t.connectors = [newConnector(random, T0, { warp: t.tun_type === 'warp_connector' }), empty];
    }
    await h.pollAt(0);
    await h.pollAt(20);
    expect(deletes(h.sim)).toEqual([]);
    expect(h.decisions().find((d) => d.skip_reason === 'blast_radius')?.reason).toMatch(/^50% of the account's connectors have no active connection/);
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
    expect(h.decisions().filter((d) => d.outcome === 'would_act')).toEqual([
      expect.objectContaining({ mode: 'dry-run', target: expect.objectContaining({ connector_id: tunnel?.connectors[0]?.id }) }),
    ]);
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

describe('the cooldown is on disk before the write goes out', () => {
  it('a kill during a connector DELETE: the restart does not send it again within the cooldown', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    const first = await harness({ remediation: { stateFile } });
    first.sim.setFaults([{ endpoint: 'connections.delete', hang: true }]);
    await first.pollAt(0);
    const polling = first.pollAt(15);
    await waitForRequest(first.sim, 'connections.delete');
    // The process dies here, the DELETE sent and unanswered.
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { targets: Record<string, { nextAllowedAt: number }> };
    first.stop();
    await polling.catch(() => undefined);
    expect(Object.keys(saved.targets)).toEqual([expect.stringMatching(/^connector:/)]);

    first.sim.setFaults([]);
    const second = await harness({ remediation: { stateFile } }, { sim: first.sim, clock: first.clock });
    // A new process tracks staleness afresh: stale long enough again at minute 31, inside the cooldown.
    await second.pollAt(16);
    await second.pollAt(31);
    expect(deletes(first.sim)).toHaveLength(1);
    expect(second.decisions().at(-1)).toMatchObject({ skip_reason: 'cooldown' });
    await second.pollAt(76);
    expect(deletes(first.sim)).toHaveLength(2);
  });

  it('a kill during retry/: the restart does not send it again within the cooldown', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    const options = {
      rotate: 0,
      remediation: { stateFile, staleConnectors: 'off' as const, proxyRecords: 'on' as const },
      simulator: { posthogRetryAcceptsApiKeys: true },
    };
    const first = await harness(options);
    for (const r of first.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    first.sim.setFaults([{ endpoint: 'proxy_records.retry', hang: true }]);
    const polling = first.pollAt(0);
    await waitForRequest(first.sim, 'proxy_records.retry');
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { targets: Record<string, unknown> };
    first.stop();
    await polling.catch(() => undefined);
    expect(Object.keys(saved.targets)).toEqual([expect.stringMatching(/^record:/)]);

    first.sim.setFaults([]);
    const second = await harness(options, { sim: first.sim, clock: first.clock });
    await second.pollAt(1);
    expect(posts(first.sim)).toHaveLength(1);
  });

  it('an unwritable state file: no write is sent, and the decision says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remediation-'));
    const stateFile = join(dir, 'state.json');
    const h = await harness({ remediation: { stateFile } });
    const [tunnel] = rotated(h.sim);
    await h.pollAt(0);
    // The directory goes away: the temp file cannot be created.
    rmSync(dir, { recursive: true });
    await h.pollAt(15);
    expect(deletes(h.sim)).toEqual([]);
    expect(decisionsFor(h, tunnel?.id).at(-1)).toMatchObject({ outcome: 'skipped', skip_reason: 'state_unwritable' });
  });
});

describe('proxy record remediation', () => {
  it('retries each erroring or timed-out record once, and none in other statuses (a server that accepts the key)', async () => {
    const h = await harness({ rotate: 0, remediation: { staleConnectors: 'off', proxyRecords: 'on' }, simulator: { posthogRetryAcceptsApiKeys: true } });
    const failed = h.org.records.filter((r) => r.status === 'erroring' || r.status === 'timed_out');
    expect(failed.length).toBe(2);
    await h.pollAt(0);
    expect(
      posts(h.sim)
        .map((r) => r.path)
        .sort(),
    ).toEqual(failed.map((r) => `/api/organizations/${h.org.id}/proxy_records/${r.id}/retry/`).sort());
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
    const h = await harness({
      rotate: 0,
      remediation: { staleConnectors: 'off', proxyRecords: 'on', cooldownMs: 10 * MIN, maxActionsPerHour: 100 },
      simulator: { posthogRetryAcceptsApiKeys: true },
    });
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
    expect(h.decisions().at(-1)).toMatchObject({ skip_reason: 'max_attempts', reason: 'gave up after 5 attempts' });
  });

  it("handles PostHog's refusal of a personal API key on retry/ once per organization: no attempt spent, no retry/ sent again", async () => {
    const h = await harness({ rotate: 0, remediation: { staleConnectors: 'off', proxyRecords: 'on' } });
    const failed = h.org.records.filter((r) => r.status === 'erroring' || r.status === 'timed_out');
    expect(failed.length).toBe(2);
    await h.pollAt(0);
    await h.pollAt(90);
    await h.pollAt(300);
    // One retry/ ever: the first record's. The refusal blocks the second record and every later poll.
    expect(posts(h.sim)).toHaveLength(1);
    const refusals = h.lines.filter((l) => String(l.msg).startsWith('PostHog refuses this credential on proxy record retry/'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 'error', organization_id: h.org.id, detail: 'This action does not support personal API key access' });
    expect(String(refusals[0]?.msg)).toContain('PROXY_RECORD_RETRY_METHOD=recreate');
    const text = await h.metrics();
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'retry_proxy_record', reason: 'credential_not_allowed' })).toBe(6);
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'retry_proxy_record', mode: 'live' })).toBe(0);
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_action_failures_total', { action: 'retry_proxy_record' })).toBe(0);
    expect(h.decisions().some((d) => String(d.error ?? '').includes('organization:write'))).toBe(false);
  });
});

describe('proxy record remediation: recreate', () => {
  const recreate = (extra: HarnessOptions = {}, reuse?: Parameters<typeof harness>[1]) =>
    harness(
      {
        rotate: 0,
        ...extra,
        remediation: { staleConnectors: 'off', proxyRecords: 'on', proxyRecordRetryMethod: 'recreate', ...extra.remediation },
        simulator: { ...extra.simulator, fleet: { maxProxyRecords: 20, ...extra.simulator?.fleet } },
      },
      reuse,
    );
  const writes = (sim: Simulator) => sim.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.endpoint}`);
  const domains = (h: Awaited<ReturnType<typeof harness>>) => h.org.records.map((r) => r.domain).sort();

  it('re-reads, deletes and creates the same domain again, with the same target, and sends no retry/', async () => {
    const h = await recreate();
    const erroring = h.org.records.find((r) => r.status === 'erroring');
    for (const r of h.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    const before = domains(h);
    await h.pollAt(0);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete', 'POST proxy_records.create']);
    // From the re-read on: read, delete, check the domain is not back already, create.
    const reread = h.sim.requests.findIndex((r) => r.endpoint === 'proxy_records.get');
    expect(h.sim.requests.slice(reread).map((r) => r.endpoint)).toEqual([
      'proxy_records.get',
      'proxy_records.delete',
      'proxy_records.list',
      'proxy_records.create',
    ]);
    expect(domains(h)).toEqual(before);
    const again = h.org.records.find((r) => r.domain === erroring?.domain);
    expect(again?.id).not.toBe(erroring?.id);
    expect(again?.target_cname).toBe(erroring?.target_cname);
    expect(h.decisions().at(-1)).toMatchObject({ outcome: 'done', evidence: { method: 'recreate', target_cname_changed: false, created: true } });
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'retry_proxy_record', mode: 'live' })).toBe(1);
  });

  it('keys cooldown by organization and domain: a recreated record that errors again at once waits', async () => {
    const h = await recreate({ remediation: { cooldownMs: 10 * MIN } });
    const domain = h.org.records.find((r) => r.status === 'erroring')?.domain;
    for (const r of h.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    await h.pollAt(0);
    const recreated = h.org.records.find((r) => r.domain === domain);
    if (recreated) setProxyRecordStatus(recreated, 'erroring', h.clock.t);
    await h.pollAt(1);
    await h.pollAt(5);
    expect(writes(h.sim)).toHaveLength(2);
    expect(h.decisions().at(-1)).toMatchObject({ skip_reason: 'cooldown', target: { domain } });
    await h.pollAt(11);
    expect(writes(h.sim)).toHaveLength(4);
  });

  it('finishes the create from the journal, one proxy-records interval later, when the create fails', async () => {
    const h = await recreate();
    const erroring = h.org.records.find((r) => r.status === 'erroring');
    for (const r of h.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    h.sim.setFaults([{ endpoint: 'proxy_records.create', status: 503, times: 1 }]);
    await h.pollAt(0);
    expect(h.org.records.some((r) => r.domain === erroring?.domain)).toBe(false);
    expect(h.decisions().at(-1)).toMatchObject({ outcome: 'failed' });
    // The journal's first retry waits one proxy-records interval (5 minutes here).
    await h.pollAt(4);
    expect(h.org.records.some((r) => r.domain === erroring?.domain)).toBe(false);
    await h.pollAt(5);
    expect(h.org.records.filter((r) => r.domain === erroring?.domain)).toHaveLength(1);
    expect(h.lines.some((l) => l.msg === 'proxy record recreate finished' && l.domain === erroring?.domain && l.created === true)).toBe(true);
    // Finished once: later cycles create nothing more.
    await h.pollAt(12);
    expect(writes(h.sim).filter((w) => w === 'POST proxy_records.create')).toHaveLength(2);
  });

  it('survives a kill between delete and create: the journal in REMEDIATION_STATE_FILE finishes it at the next start', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    const first = await recreate({ remediation: { stateFile } });
    const erroring = first.org.records.find((r) => r.status === 'erroring');
    for (const r of first.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    first.sim.setFaults([{ endpoint: 'proxy_records.create', hang: true }]);
    const polling = first.pollAt(0);
    await waitForRequest(first.sim, 'proxy_records.create');
    // The process dies here: the DELETE went out, the create never finished.
    first.stop();
    await polling.catch(() => undefined);
    expect(first.org.records.some((r) => r.domain === erroring?.domain)).toBe(false);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).journal).toEqual([
      expect.objectContaining({ domain: erroring?.domain, oldId: erroring?.id, oldTargetCname: erroring?.target_cname }),
    ]);

    first.sim.setFaults([]);
    const second = await recreate({ remediation: { stateFile } }, { sim: first.sim, clock: first.clock });
    await second.pollAt(1);
    expect(first.org.records.filter((r) => r.domain === erroring?.domain)).toHaveLength(1);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).journal).toEqual([]);
  });

  /** The erroring record, with the timed-out one made valid so it is the only candidate. */
  const onlyErroring = (h: Awaited<ReturnType<typeof harness>>) => {
    for (const r of h.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    const erroring = h.org.records.find((r) => r.status === 'erroring');
    if (!erroring) throw new Error('no erroring record');
    return erroring;
  };
  const recordsFor = (h: Awaited<ReturnType<typeof harness>>, domain: string) => h.org.records.filter((r) => r.domain === domain);

  it.each([
    ['answered 500', { status: 500 }],
    ['reset the socket', { reset: true }],
  ])('a DELETE that took effect and then %s keeps the journal: the domain is created again', async (_what, fault) => {
    const h = await recreate();
    const erroring = onlyErroring(h);
    h.sim.setFaults([{ endpoint: 'proxy_records.delete', after: true, times: 1, ...fault }]);
    await h.pollAt(0);
    expect(recordsFor(h, erroring.domain)).toEqual([]);
    await h.pollAt(1);
    expect(recordsFor(h, erroring.domain)).toEqual([expect.objectContaining({ status: 'waiting' })]);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete', 'POST proxy_records.create']);
    expect(h.lines.some((l) => l.msg === 'proxy record recreate finished' && l.domain === erroring.domain && l.created === true)).toBe(true);
  });

  it('a DELETE that took effect and never answered, then SIGTERM: the restart creates the domain again', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    const first = await recreate({ remediation: { stateFile } });
    const erroring = onlyErroring(first);
    first.sim.setFaults([{ endpoint: 'proxy_records.delete', after: true, hang: true }]);
    const polling = first.pollAt(0);
    await waitForRequest(first.sim, 'proxy_records.delete');
    first.stop();
    await polling.catch(() => undefined);
    expect(recordsFor(first, erroring.domain)).toEqual([]);
    first.sim.setFaults([]);
    const second = await recreate({ remediation: { stateFile } }, { sim: first.sim, clock: first.clock });
    await second.pollAt(1);
    expect(recordsFor(first, erroring.domain)).toHaveLength(1);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).journal).toEqual([]);
  });

  it('a DELETE that failed before the server acted: the record is intact and the journal is finished by deleting it again', async () => {
    const h = await recreate();
    const erroring = onlyErroring(h);
    h.sim.setFaults([{ endpoint: 'proxy_records.delete', status: 502, times: 1 }]);
    await h.pollAt(0);
    expect(recordsFor(h, erroring.domain)).toEqual([erroring]);
    await h.pollAt(1);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete', 'DELETE proxy_records.delete', 'POST proxy_records.create']);
    expect(recordsFor(h, erroring.domain)).toEqual([expect.objectContaining({ status: 'waiting' })]);
  });

  it('the deleted record still listed as deleting is not the domain back: the create waits until it is gone', async () => {
    const h = await recreate({ simulator: { posthogDeleteLagMs: 90_000 } });
    const erroring = onlyErroring(h);
    await h.pollAt(0);
    // Still listed, deleting: not back, and no create yet (PostHog would refuse the duplicate domain).
    expect(recordsFor(h, erroring.domain)).toEqual([expect.objectContaining({ id: erroring.id, status: 'deleting' })]);
    await h.pollAt(1);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete']);
    expect(h.decisions().at(-1)).toMatchObject({ outcome: 'skipped', skip_reason: 'delete_pending' });
    await h.pollAt(2);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete', 'POST proxy_records.create']);
    expect(recordsFor(h, erroring.domain)).toEqual([expect.objectContaining({ status: 'waiting' })]);
    expect(recordsFor(h, erroring.domain)[0]?.id).not.toBe(erroring.id);
  });

  it('a create refused for good is retried through the back-off and the hourly limit, logged as an error and exposed', async () => {
    const h = await recreate({ remediation: { maxActionsPerHour: 100 } });
    const erroring = onlyErroring(h);
    h.sim.setFaults([{ endpoint: 'proxy_records.create', status: 409 }]);
    // Ten-second polls for 40 s: one create, not one per poll.
    for (const m of [0, 1 / 6, 2 / 6, 3 / 6, 4 / 6]) await h.pollAt(m);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete', 'POST proxy_records.create']);
    expect(value(await h.metrics(), 'posthog_proxy_record_recreate_pending', { domain: erroring.domain })).toBe(1);
    expect(h.decisions().at(-1)).toMatchObject({ skip_reason: 'cooldown', target: { domain: erroring.domain } });
    // The journal's back-off starts at one proxy-records interval (5 minutes here) and doubles.
    const creates = () => writes(h.sim).filter((w) => w === 'POST proxy_records.create').length;
    for (let m = 1; m <= 16; m++) await h.pollAt(m);
    expect(creates()).toBe(3);
    expect(
      h.lines.filter((l) => l.level === 'error' && l.msg === 'remediation decision' && (l.target as { domain?: string }).domain === erroring.domain),
    ).toHaveLength(3);
    h.sim.setFaults([]);
    await h.pollAt(40);
    expect(recordsFor(h, erroring.domain)).toHaveLength(1);
    expect(value(await h.metrics(), 'posthog_proxy_record_recreate_pending', { domain: erroring.domain })).toBeUndefined();
  });

  it.each([
    ['one bad field', (text: string) => text.replace('"actions":[', '"actions":["soon",')],
    ['truncated', (text: string) => text.slice(0, text.indexOf('"dnsChanges"'))],
  ])('a state file with %s: the journaled domain is salvaged and created again; the file is named in an error and a metric', async (_what, damage) => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    const first = await recreate({ remediation: { stateFile } });
    const erroring = onlyErroring(first);
    first.sim.setFaults([{ endpoint: 'proxy_records.create', hang: true }]);
    const polling = first.pollAt(0);
    await waitForRequest(first.sim, 'proxy_records.create');
    first.stop();
    await polling.catch(() => undefined);
    writeFileSync(stateFile, damage(readFileSync(stateFile, 'utf8')));

    first.sim.setFaults([]);
    const second = await recreate({ remediation: { stateFile } }, { sim: first.sim, clock: first.clock });
    const complaint = second.lines.find((l) => l.level === 'error' && String(l.msg).startsWith('remediation state file is corrupt'));
    expect(complaint).toMatchObject({ path: stateFile, salvaged_journal_entries: 1 });
    expect(value(await second.metrics(), 'cloudflare_tunnel_exporter_remediation_state_file_corrupt', {})).toBe(1);
    await second.pollAt(1);
    expect(recordsFor(first, erroring.domain)).toHaveLength(1);
  });

  it('a state file that cannot be read at all: every target cools down, and the error says the journal may have been lost', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'remediation-')), 'state.json');
    writeFileSync(stateFile, '');
    const h = await recreate({ remediation: { stateFile } });
    onlyErroring(h);
    expect(h.lines.find((l) => l.level === 'error' && String(l.msg).startsWith('remediation state file is corrupt'))).toMatchObject({
      path: stateFile,
      salvaged_journal_entries: 0,
    });
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_state_file_corrupt', {})).toBe(1);
    await h.pollAt(0);
    expect(writes(h.sim)).toEqual([]);
    expect(h.decisions().at(-1)).toMatchObject({ skip_reason: 'cooldown' });
  });

  it('a member-level key: one refused DELETE, one error naming the fix, then not_org_admin skips and no write', async () => {
    const h = await recreate({ memberKey: true });
    const domainsBefore = domains(h);
    await h.pollAt(0);
    await h.pollAt(60);
    await h.pollAt(180);
    expect(writes(h.sim)).toEqual(['DELETE proxy_records.delete']);
    expect(domains(h)).toEqual(domainsBefore);
    const told = h.lines.filter((l) => String(l.msg).includes('its user is not an admin of the organization'));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ level: 'error', organization_id: h.org.id });
    expect(String(told[0]?.msg)).toContain('organization admin');
    const text = await h.metrics();
    expect(value(text, 'cloudflare_tunnel_exporter_remediation_skipped_total', { action: 'retry_proxy_record', reason: 'not_org_admin' })).toBe(6);
    expect(value(text, 'posthog_proxy_record_recreate_pending', {})).toBeUndefined();
    expect(h.decisions().some((d) => String(d.error ?? '').includes('organization:write'))).toBe(false);
  });

  it('a target_cname that differs only by its final dot or case is the same target: no DNS change', async () => {
    const h = await recreate();
    const erroring = onlyErroring(h);
    h.sim.fleet.proxyBaseCname = `${h.sim.fleet.proxyBaseCname.replace(/\.$/, '').toUpperCase()}${h.sim.fleet.proxyBaseCname.endsWith('.') ? '' : '.'}`;
    await h.pollAt(0);
    expect(recordsFor(h, erroring.domain)[0]?.target_cname).not.toBe(erroring.target_cname);
    expect(h.decisions().at(-1)).toMatchObject({ outcome: 'done', evidence: { target_cname_changed: false } });
    expect(value(await h.metrics(), 'posthog_proxy_record_dns_change_required', {})).toBeUndefined();
  });

  it('dry-run decides and counts, and sends no write', async () => {
    const h = await recreate({ remediation: { proxyRecords: 'dry-run' } });
    await h.pollAt(0);
    expect(writes(h.sim)).toEqual([]);
    expect(value(await h.metrics(), 'cloudflare_tunnel_exporter_remediation_actions_total', { action: 'retry_proxy_record', mode: 'dry_run' })).toBe(2);
  });

  it('a changed target_cname is logged as an error and exposed until the record is valid', async () => {
    const h = await recreate();
    const erroring = h.org.records.find((r) => r.status === 'erroring');
    for (const r of h.org.records) if (r.status === 'timed_out') setProxyRecordStatus(r, 'valid', T0);
    h.sim.fleet.proxyBaseCname = 'proxy-cf.posthog.example';
    await h.pollAt(0);
    const recreated = h.org.records.find((r) => r.domain === erroring?.domain);
    expect(recreated?.target_cname).toMatch(/\.proxy-cf\.posthog\.example$/);
    expect(h.lines.find((l) => l.level === 'error' && l.domain === erroring?.domain)).toMatchObject({
      old_target_cname: erroring?.target_cname,
      new_target_cname: recreated?.target_cname,
    });
    expect(value(await h.metrics(), 'posthog_proxy_record_dns_change_required', { domain: erroring?.domain as string })).toBe(1);
    if (recreated) setProxyRecordStatus(recreated, 'valid', h.clock.t);
    await h.pollAt(1);
    expect(value(await h.metrics(), 'posthog_proxy_record_dns_change_required', { domain: erroring?.domain as string })).toBeUndefined();
  });

  it('never deletes when the organization is over max_proxy_records (the create would be refused)', async () => {
    const h = await recreate({ simulator: { fleet: { maxProxyRecords: 2 } } });
    await h.pollAt(0);
    expect(writes(h.sim)).toEqual([]);
    expect(h.decisions().at(-1)).toMatchObject({ skip_reason: 'over_quota' });
  });

  it('touches no record in any other status', async () => {
    const h = await recreate();
    for (const r of h.org.records) if (r.status === 'erroring' || r.status === 'timed_out') setProxyRecordStatus(r, 'warning', T0);
    await h.pollAt(0);
    await h.pollAt(100);
    expect(writes(h.sim)).toEqual([]);
  });
});

describe('the clock cannot fool the staleness guard', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a wall clock stepped 20 minutes forward does not make a connector stale: ages are on the steady clock', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8 } });
    const account = sim.fleet.accounts[0];
    if (!account) throw new Error('no account');
    const tunnel = account.tunnels.find((t) => t.status === 'healthy' && t.tun_type === 'cfd_tunnel');
    if (!tunnel) throw new Error('no healthy tunnel');
    rotateConnector(tunnel, Date.now(), createRandom(3));
    // Production's clocks: nothing injected. Only Date is faked, so the step moves the wall clock alone.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const store = createSnapshotStore();
    const client = cloudflareClient(sim);
    const refresher = createConnectionsRefresher({ client, store, intervalMs: 0, pace: () => ({ perSecond: 1, burst: 1000 }) });
    const list = createTunnelsPoller({ client, accountId: account.id, store, reporter: createPollReporter(silentLogger()), refresher });
    const policy = staleConnectorPolicy({
      mode: 'on',
      client,
      staleAfterMs: 15 * MIN,
      cooldownMs: 60 * MIN,
      intervals: { tunnelsSeconds: 30, gatewaySeconds: 300, proxyRecordsSeconds: 60 },
      maxDataAgeMs: 10 * MIN,
      now: steadyNow,
    });
    const poll = async () => {
      await list(new AbortController().signal);
      await refresher.drain();
      return policy.candidates(store.snapshot(), account.id);
    };
    expect(await poll()).toEqual([]);
    vi.setSystemTime(Date.now() + 20 * MIN);
    expect(await poll()).toEqual([]);
    expect(await poll()).toEqual([]);
  });
});

describe('a write goes nowhere but its target', () => {
  it("a proxy record id '..' fails the list poll: no DELETE or POST reaches the organization's endpoint", async () => {
    for (const method of ['recreate', 'retry'] as const) {
      const h = await harness({
        rotate: 0,
        remediation: { staleConnectors: 'off', proxyRecords: 'on', proxyRecordRetryMethod: method },
        simulator: { posthogRetryAcceptsApiKeys: true, fleet: { maxProxyRecords: 20 } },
      });
      const erroring = h.org.records.find((r) => r.status === 'erroring');
      if (!erroring) throw new Error('no erroring record');
      erroring.id = '..';
      await h.pollAt(0);
      await h.pollAt(1);
      expect(h.sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      expect(h.lines.some((l) => String(l.err ?? '').includes('id: must be a UUID, got ".."'))).toBe(true);
    }
  });

  it("a tunnel id or connector id '..' never reaches a DELETE", async () => {
    const h = await harness({ rotate: 2 });
    const [first, second] = rotated(h.sim);
    if (!first || !second) throw new Error('no rotated tunnels');
    (first.connectors[0] as { id: string }).id = '..';
    await h.pollAt(0);
    await h.pollAt(15);
    // The other rotated tunnel's stale connector is removed; the one with the bad id is never a candidate.
    expect(deletes(h.sim).map((r) => r.path)).toEqual([`/client/v4/accounts/${h.account.id}/cfd_tunnel/${second.id}/connections`]);
    second.id = '..';
    await h.pollAt(40);
    expect(h.lines.some((l) => String(l.err ?? '').includes('must be a UUID, got ".."'))).toBe(true);
    expect(deletes(h.sim)).toHaveLength(1);
  });
});

async function waitForRequest(sim: Simulator, endpoint: string): Promise<void> {
  for (let i = 0; i < 200 && !sim.requests.some((r) => r.endpoint === endpoint); i++) await new Promise((r) => setTimeout(r, 5));
}
