// Holds the simulator to the real Cloudflare API with a client nobody here wrote: the official
// `cloudflare` npm package (a dev dependency, pinned). If the simulator's paths, query parameters,
// envelopes or pagination drifted from the real API, the SDK would fail or read something else.
import Cloudflare from 'cloudflare';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.js';
import { simulator } from '../helpers/simulator.js';

function sdk(sim: Simulator): Cloudflare {
  return new Cloudflare({ apiToken: sim.credentials.cloudflareToken, baseURL: sim.cloudflareBaseUrl, maxRetries: 0, timeout: 5000 });
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('simulator against the official Cloudflare SDK', () => {
  it.each([1, 3, 7, 1000])('auto-paginates the combined tunnel list at per_page=%i to exactly the live set', async (perPage) => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 9, warpConnectorsPerAccount: 3, deletedTunnelsPerAccount: 2 } });
    const account = sim.fleet.accounts[0];
    const listed = await all(
      sdk(sim).zeroTrust.tunnels.list({ account_id: account?.id as string, per_page: perPage, is_deleted: false, tun_types: ['cfd_tunnel', 'warp_connector'] }),
    );
    const live = account?.tunnels.filter((t) => t.deleted_at === null) ?? [];
    expect(listed.map((t) => t.id).sort()).toEqual(live.map((t) => t.id).sort());
    expect(new Set(listed.map((t) => t.tun_type))).toEqual(new Set(['cfd_tunnel', 'warp_connector']));
    // The SDK walks pages until an empty one; it sent the types as a repeated parameter.
    const lists = sim.requests.filter((r) => r.endpoint === 'tunnels.list');
    expect(lists).toHaveLength(Math.ceil(live.length / perPage) + 1);
  });

  it('lists cfd_tunnels and WARP connectors per type, leaving deleted tunnels out unless asked', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 5, warpConnectorsPerAccount: 2, deletedTunnelsPerAccount: 1 } });
    const account = sim.fleet.accounts[0];
    const client = sdk(sim);
    const cfd = await all(client.zeroTrust.tunnels.cloudflared.list({ account_id: account?.id as string, per_page: 2 }));
    expect(cfd.map((t) => t.id).sort()).toEqual(
      account?.tunnels
        .filter((t) => t.tun_type === 'cfd_tunnel' && t.deleted_at === null)
        .map((t) => t.id)
        .sort(),
    );
    const deleted = await all(client.zeroTrust.tunnels.cloudflared.list({ account_id: account?.id as string, is_deleted: true }));
    expect(deleted.map((t) => t.name)).toEqual(account?.tunnels.filter((t) => t.deleted_at !== null).map((t) => t.name));
    const onlyWarp = await all(client.zeroTrust.tunnels.list({ account_id: account?.id as string, tun_types: ['warp_connector'] }));
    expect(onlyWarp.map((t) => t.tun_type)).toEqual(['warp_connector', 'warp_connector']);
    const warp = await all(client.zeroTrust.tunnels.warpConnector.list({ account_id: account?.id as string }));
    expect(warp.map((t) => t.id).sort()).toEqual(
      account?.tunnels
        .filter((t) => t.tun_type === 'warp_connector')
        .map((t) => t.id)
        .sort(),
    );
  });

  it('reads connections (cfd and WARP), one connector by id, and Gateway proxy endpoints', async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const account = sim.fleet.accounts[0];
    const accountId = account?.id as string;
    const client = sdk(sim);
    const cfd = account?.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.status === 'healthy');
    const connectors = await all(client.zeroTrust.tunnels.cloudflared.connections.get(cfd?.id as string, { account_id: accountId }));
    expect(connectors.map((c) => c.id)).toEqual(cfd?.connectors.map((c) => c.id));
    for (const c of connectors) {
      expect(c.conns?.length).toBe(4);
      // Cloudflare removed the feature; the field reads false.
      expect(c.conns?.every((x) => x.is_pending_reconnect === false)).toBe(true);
    }
    const one = await client.zeroTrust.tunnels.cloudflared.connectors.get(cfd?.connectors[0]?.id as string, {
      account_id: accountId,
      tunnel_id: cfd?.id as string,
    });
    expect(one.id).toBe(cfd?.connectors[0]?.id);

    const warp = account?.tunnels.find((t) => t.tun_type === 'warp_connector');
    const warpConnectors = await all(client.zeroTrust.tunnels.warpConnector.connections.get(warp?.id as string, { account_id: accountId }));
    expect(warpConnectors.map((c) => c.ha_status).sort()).toEqual(warp?.connectors.map((c) => c.ha_status).sort());

    const endpoints = await all(client.zeroTrust.gateway.proxyEndpoints.list({ account_id: accountId }));
    expect(endpoints.map((e) => e.id)).toEqual(account?.proxyEndpoints.map((e) => e.id));
  });

  it("surfaces the simulator refusing a bad token as the SDK's own authentication error", async () => {
    const sim = await simulator({ fleet: { accounts: 1 } });
    const client = new Cloudflare({ apiToken: 'wrong', baseURL: sim.cloudflareBaseUrl, maxRetries: 0 });
    await expect(all(client.zeroTrust.tunnels.cloudflared.list({ account_id: sim.accountIds[0] as string }))).rejects.toBeInstanceOf(
      Cloudflare.PermissionDeniedError,
    );
  });
});
