// Holds the simulator to the real APIs' response shapes: each fixture in test/fixtures was written
// from the public API reference, and the simulator's answer must have the same keys and types.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shapeOf } from '../helpers/shape.js';
import { simulator } from '../helpers/simulator.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as unknown;

async function get(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

/** Fields the reference marks nullable: a fixture may show null where the simulator has a value. */
function normalizeNullable(shape: unknown): unknown {
  return JSON.parse(JSON.stringify(shape).replace(/"(conns_active_at|conns_inactive_at|deleted_at|message)":"(null|string)"/g, '"$1":"string|null"'));
}

describe('simulator contract: Cloudflare', () => {
  it('tunnel list, connections (cfd and WARP) and Gateway proxy endpoints match the reference shapes', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const auth = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const account = sim.fleet.accounts[0];
    const cfd = account?.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.status === 'healthy');
    const warp = account?.tunnels.find((t) => t.tun_type === 'warp_connector');
    const base = `${sim.cloudflareBaseUrl}/accounts/${account?.id}`;

    const list = await get(`${base}/cfd_tunnel?is_deleted=false&per_page=1`, auth);
    expect(normalizeNullable(shapeOf(list.body))).toEqual(normalizeNullable(shapeOf(fixture('cloudflare/cfd_tunnel-list.json'))));
    expect(list.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    expect(list.headers.get('ratelimit-policy')).toBe('"burst";q=1200;w=300');

    const conns = await get(`${base}/cfd_tunnel/${cfd?.id}/connections`, auth);
    expect(shapeOf(conns.body)).toEqual(shapeOf(fixture('cloudflare/cfd_tunnel-connections.json')));
    const warpConns = await get(`${base}/warp_connector/${warp?.id}/connections`, auth);
    expect(shapeOf(warpConns.body)).toEqual(shapeOf(fixture('cloudflare/warp_connector-connections.json')));
    const gateway = await get(`${base}/gateway/proxy_endpoints`, auth);
    expect(shapeOf(gateway.body)).toEqual(shapeOf(fixture('cloudflare/gateway-proxy_endpoints.json')));
  });

  it('answers a bad token with the auth envelope and an unknown account with 7003', async () => {
    const sim = await simulator();
    const bad = await get(`${sim.cloudflareBaseUrl}/accounts/${sim.accountIds[0]}/cfd_tunnel`, { authorization: 'Bearer nope' });
    expect(bad.status).toBe(403);
    expect(bad.body).toEqual(fixture('cloudflare/error-auth.json'));
    const missing = await get(`${sim.cloudflareBaseUrl}/accounts/0000/cfd_tunnel`, { authorization: `Bearer ${sim.credentials.cloudflareToken}` });
    expect(missing.status).toBe(404);
    expect((missing.body as { errors: { code: number }[] }).errors[0]?.code).toBe(7003);
  });

  it('leaves deleted tunnels out unless is_deleted=true, and filters /tunnels by tun_types (comma list or repeated)', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 3, warpConnectorsPerAccount: 2, deletedTunnelsPerAccount: 2 } });
    const auth = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const base = `${sim.cloudflareBaseUrl}/accounts/${sim.accountIds[0]}`;
    const count = async (q: string) => ((await get(`${base}/${q}`, auth)).body as { result_info: { total_count: number } }).result_info.total_count;
    expect(await count('cfd_tunnel')).toBe(3);
    expect(await count('cfd_tunnel?is_deleted=false')).toBe(3);
    expect(await count('cfd_tunnel?is_deleted=true')).toBe(2);
    expect(await count('tunnels?tun_types=warp_connector')).toBe(2);
    expect(await count('tunnels?tun_types=cfd_tunnel,warp_connector&is_deleted=false')).toBe(5);
    expect(await count('tunnels?tun_types=cfd_tunnel&tun_types=warp_connector')).toBe(5);
  });

  it('reports is_pending_reconnect false on every cfd connection and leaves it (and uuid, config_version) out for WARP', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8 } });
    const auth = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const account = sim.fleet.accounts[0];
    for (const t of account?.tunnels.filter((x) => x.deleted_at === null) ?? []) {
      const body = (await get(`${sim.cloudflareBaseUrl}/accounts/${account?.id}/${t.tun_type}/${t.id}/connections`, auth)).body as {
        result: { config_version?: number; conns: Record<string, unknown>[] }[];
      };
      for (const c of body.result) {
        expect('config_version' in c, t.name).toBe(t.tun_type === 'cfd_tunnel');
        for (const conn of c.conns) {
          expect(conn.is_pending_reconnect, t.name).toBe(t.tun_type === 'cfd_tunnel' ? false : undefined);
          expect('uuid' in conn, t.name).toBe(t.tun_type === 'cfd_tunnel');
        }
      }
    }
  });

  it('answers one connector by id, and 404 for an unknown one', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const auth = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const account = sim.fleet.accounts[0];
    const tunnel = account?.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.connectors.length > 0);
    const connector = tunnel?.connectors[0];
    const base = `${sim.cloudflareBaseUrl}/accounts/${account?.id}/cfd_tunnel/${tunnel?.id}/connectors`;
    const one = await get(`${base}/${connector?.id}`, auth);
    expect((one.body as { result: { id: string; conns: unknown[] } }).result.id).toBe(connector?.id);
    expect((one.body as { result: { conns: unknown[] } }).result.conns).toHaveLength(connector?.conns.length ?? -1);
    expect((await get(`${base}/no-such-connector`, auth)).status).toBe(404);
  });

  it('DELETE without client_id removes every connector, as the real API does', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const account = sim.fleet.accounts[0];
    const tunnel = account?.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.connectors.length > 1);
    const res = await fetch(`${sim.cloudflareBaseUrl}/accounts/${account?.id}/cfd_tunnel/${tunnel?.id}/connections`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sim.credentials.cloudflareToken}` },
    });
    expect(res.status).toBe(200);
    expect(tunnel?.connectors).toEqual([]);
  });
});

describe('simulator: paths', () => {
  it('answers a path with a malformed escape with 404, and goes on serving', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const auth = { authorization: `Bearer ${sim.credentials.cloudflareToken}` };
    const res = await fetch(`${sim.cloudflareBaseUrl}/accounts/%E0%A4%A/tunnels`, { headers: auth });
    expect(res.status).toBe(404);
    expect((await fetch(`${sim.cloudflareBaseUrl}/accounts/${sim.accountIds[0]}/tunnels`, { headers: auth })).status).toBe(200);
  });
});

describe('simulator contract: PostHog', () => {
  it('list and single record match the reference shapes; a bad key gets 401', async () => {
    const sim = await simulator();
    const auth = { authorization: `Bearer ${sim.credentials.posthogKey}` };
    const org = sim.fleet.organizations[0];
    const list = await get(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/`, auth);
    expect(normalizeNullable(shapeOf(list.body))).toEqual(normalizeNullable(shapeOf(fixture('posthog/proxy_records-list.json'))));
    const one = await get(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/${org?.records[0]?.id}/`, auth);
    expect(normalizeNullable(shapeOf(one.body))).toEqual(normalizeNullable(shapeOf(fixture('posthog/proxy_record.json'))));
    expect((await get(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/`, { authorization: 'Bearer x' })).status).toBe(401);
  });

  it("refuses a personal API key on retry/ with 403 and PostHog's detail, in every status", async () => {
    const sim = await simulator({ fleet: { recordsPerOrganization: 9 } });
    const org = sim.fleet.organizations[0];
    for (const record of org?.records ?? []) {
      const before = record.status;
      const res = await fetch(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/${record.id}/retry/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.credentials.posthogKey}` },
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ detail: 'This action does not support personal API key access' });
      expect(record.status).toBe(before);
    }
  });

  it('creates a record with a target_cname derived from organization and domain, refuses past max_proxy_records, and deletes', async () => {
    const sim = await simulator({ fleet: { recordsPerOrganization: 1, maxProxyRecords: 2 } });
    const org = sim.fleet.organizations[0];
    const base = `${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records`;
    const headers = { authorization: `Bearer ${sim.credentials.posthogKey}`, 'content-type': 'application/json' };
    const create = (domain: string) => fetch(`${base}/`, { method: 'POST', headers, body: JSON.stringify({ domain }) });
    const first = await create('new.example.com');
    expect(first.status).toBe(201);
    const record = (await first.json()) as { id: string; status: string; target_cname: string; created_by: number };
    expect(record.status).toBe('waiting');
    expect(typeof record.created_by).toBe('number');
    const over = await create('third.example.com');
    expect(over.status).toBe(400);
    expect(await over.json()).toEqual({ detail: 'Maximum of 2 proxy records per organization.' });
    // A waiting record is deleted at once; recreated, it gets the same target.
    expect((await fetch(`${base}/${record.id}`, { method: 'DELETE', headers })).status).toBe(200);
    expect(org?.records.some((r) => r.id === record.id)).toBe(false);
    const again = (await (await create('new.example.com')).json()) as { id: string; target_cname: string };
    expect(again.id).not.toBe(record.id);
    expect(again.target_cname).toBe(record.target_cname);
    // A valid record is torn down first: it shows as deleting.
    const valid = org?.records.find((r) => r.status === 'valid');
    if (valid) {
      await fetch(`${base}/${valid.id}/`, { method: 'DELETE', headers });
      expect(valid.status).toBe('deleting');
    }
  });

  it('refuses a create without a valid domain with field errors, diagnose/ to any API key, and every write to a member below admin', async () => {
    const sim = await simulator({ fleet: { maxProxyRecords: 20 } });
    const org = sim.fleet.organizations[0];
    const base = `${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records`;
    const admin = { authorization: `Bearer ${sim.credentials.posthogKey}`, 'content-type': 'application/json' };
    const member = { authorization: `Bearer ${sim.credentials.posthogMemberKey}`, 'content-type': 'application/json' };
    const post = async (url: string, headers: Record<string, string>, body?: unknown) => {
      const res = await fetch(url, { method: 'POST', headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    expect(await post(`${base}/`, admin, {})).toEqual({ status: 400, body: { domain: ['This field is required.'] } });
    expect(await post(`${base}/`, admin, { domain: 'Not A Domain' })).toEqual({ status: 400, body: { domain: ['Enter a valid domain.'] } });
    const record = org?.records[0];
    expect(await post(`${base}/${record?.id}/diagnose/`, admin)).toEqual({
      status: 403,
      body: { detail: 'This action does not support personal API key access' },
    });
    const refused = { status: 403, body: { detail: 'Your organization access level is insufficient.' } };
    expect(await post(`${base}/`, member, { domain: 'member.example.com' })).toEqual(refused);
    expect(await post(`${base}/${record?.id}/retry/`, member)).toEqual(refused);
    const del = await fetch(`${base}/${record?.id}/`, { method: 'DELETE', headers: member });
    expect(del.status).toBe(403);
    // A member still reads.
    expect((await fetch(`${base}/`, { headers: member })).status).toBe(200);
    expect(org?.records.map((r) => r.domain)).not.toContain('member.example.com');
    expect(org?.records[0]?.target_cname.endsWith('.')).toBe(true);
  });

  it('takes paths with or without the trailing slash, and answers errors as {detail}', async () => {
    const sim = await simulator();
    const auth = { authorization: `Bearer ${sim.credentials.posthogKey}` };
    const org = sim.fleet.organizations[0];
    const without = await get(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records`, auth);
    expect(without.status).toBe(200);
    expect((without.body as { results: unknown[] }).results).toHaveLength(org?.records.length ?? -1);
    const missing = await get(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/nope`, auth);
    expect(missing).toMatchObject({ status: 404, body: { detail: 'Not found.' } });
    const bad = await get(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/`, { authorization: 'Bearer x' });
    expect(Object.keys(bad.body as object)).toEqual(['detail']);
  });

  it('retry, where a server accepts the key, is allowed from erroring, timed_out and issuing only', async () => {
    const sim = await simulator({ fleet: { recordsPerOrganization: 9 }, posthogRetryAcceptsApiKeys: true });
    const org = sim.fleet.organizations[0];
    const results: Record<string, number> = {};
    for (const record of org?.records ?? []) {
      const before = record.status;
      const res = await fetch(`${sim.posthogBaseUrl}/api/organizations/${org?.id}/proxy_records/${record.id}/retry/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.credentials.posthogKey}` },
      });
      results[before] = res.status;
      if (res.status === 200) expect(record.status).toBe('waiting');
    }
    expect(results).toEqual({ valid: 400, waiting: 400, issuing: 200, warning: 400, erroring: 200, timed_out: 200, deleting: 400 });
  });
});
