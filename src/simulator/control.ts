// The simulator's control endpoint (/_simulator/…, JSON; see README "Simulator"): its state, the
// requests it saw, faults, a timeline step, and setting a tunnel's or a record's status by hand.

import { tunnelView } from './cloudflare-api.js';
import type { FaultRule, Faults } from './faults.js';
import { type Random, type SimFleet, type SimProxyStatus, type SimTunnelStatus, setProxyRecordStatus, setTunnelStatus } from './fleet.js';
import type { RecordedRequest } from './paths.js';
import type { Reply } from './reply.js';
import type { Timeline } from './timeline.js';

export interface ControlOptions {
  fleet: SimFleet;
  timeline: Timeline;
  faults: Faults;
  requests: RecordedRequest[];
  now: () => number;
  random: Random;
  step: () => string[];
  resetRateLimit: () => void;
}

const TUNNEL_STATUSES = ['healthy', 'degraded', 'down', 'inactive'];
const RECORD_STATUSES = ['waiting', 'issuing', 'valid', 'warning', 'erroring', 'deleting', 'timed_out'];

function state(o: ControlOptions): Reply {
  const { fleet } = o;
  return {
    status: 200,
    body: {
      steps: o.timeline.steps,
      accounts: fleet.accounts.map((a) => ({
        id: a.id,
        tunnels: a.tunnels.map((t) => ({
          id: t.id,
          name: t.name,
          type: t.tun_type,
          status: t.status,
          deleted: t.deleted_at !== null,
          /** Has a configuration the exporter reads: remotely managed, or a WARP Connector. */
          configured: t.configuration !== undefined || t.warpConfiguration !== undefined,
          connectors: t.connectors.map((c) => c.id),
        })),
      })),
      organizations: fleet.organizations.map((org) => ({ id: org.id, records: org.records.map((r) => ({ id: r.id, domain: r.domain, status: r.status })) })),
      faults: o.faults.list(),
    },
  };
}

export function control(o: ControlOptions, method: string, parts: string[], body: string): Reply {
  const json = () => (body ? (JSON.parse(body) as Record<string, unknown>) : {});
  const [what, id, field] = parts;
  const done: Reply = { status: 204, body: undefined };
  const route = `${method} ${what}${id && field ? `/:id/${field}` : ''}`;
  switch (route) {
    case 'GET state':
      return state(o);
    case 'GET requests':
      return { status: 200, body: o.requests };
    case 'DELETE requests':
      o.requests.length = 0;
      return done;
    case 'PUT faults':
      o.faults.set(json() as unknown as FaultRule[]);
      return { status: 200, body: o.faults.list() };
    case 'DELETE faults':
      o.faults.set([]);
      return done;
    case 'POST step':
      return { status: 200, body: { events: o.step() } };
    case 'POST tunnels/:id/status': {
      const tunnel = o.fleet.accounts.flatMap((a) => a.tunnels).find((t) => t.id === id);
      const status = json().status as SimTunnelStatus;
      if (!tunnel || !TUNNEL_STATUSES.includes(status)) return { status: 400, body: { error: 'unknown tunnel or status' } };
      setTunnelStatus(tunnel, status, o.now(), o.random);
      return { status: 200, body: tunnelView(tunnel) };
    }
    case 'POST proxy_records/:id/status': {
      const record = o.fleet.organizations.flatMap((org) => org.records).find((r) => r.id === id);
      const status = json().status as SimProxyStatus;
      if (!record || !RECORD_STATUSES.includes(status)) return { status: 400, body: { error: 'unknown record or status' } };
      setProxyRecordStatus(record, status, o.now());
      return { status: 200, body: record };
    }
    case 'PUT proxy_base_cname': {
      const base = json().base;
      if (typeof base !== 'string' || base === '') return { status: 400, body: { error: 'base must be a host name' } };
      o.fleet.proxyBaseCname = base;
      return { status: 200, body: { base } };
    }
    case 'DELETE ratelimit':
      o.resetRateLimit();
      return done;
    default:
      return { status: 404, body: { error: 'unknown control endpoint' } };
  }
}
