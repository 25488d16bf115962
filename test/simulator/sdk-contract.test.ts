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
  it('reads tunnel configurations (remote and local), a WARP Connector configuration, routes, hostname routes and virtual networks', async () => {
    const sim = await simulator({ fleet: { accounts: 1, tunnelsPerAccount: 8, warpConnectorsPerAccount: 2 } });
    const account = sim.fleet.accounts[0];
    if (!account) throw new Error('no account');
    const account_id = account.id;
    const client = sdk(sim);
    const remote = account.tunnels.find((t) => t.configuration);
    const local = account.tunnels.find((t) => t.tun_type === 'cfd_tunnel' && t.config_src === 'local' && t.deleted_at === null);
    const warp = account.tunnels.find((t) => t.tun_type === 'warp_connector');
    if (!remote || !local || !warp) throw new Error('the fleet lacks a remote, a local or a WARP tunnel');
    const configuration = await client.zeroTrust.tunnels.cloudflared.configurations.get(remote.id, { account_id });
    expect(configuration.version).toBe(remote.configuration?.version);
    expect(configuration.source).toBe('cloudflare');
    expect(configuration.config?.ingress?.at(-1)).toEqual({ service: 'http_status:404' });
    expect(configuration.config?.ingress?.filter((r) => r.hostname).map((r) => r.hostname)).toEqual(
      remote.configuration?.ingress.flatMap((r) => (r.hostname ? [r.hostname] : [])),
    );
    const none = await client.zeroTrust.tunnels.cloudflared.configurations.get(local.id, { account_id });
    expect([none.source, none.version, none.config]).toEqual(['local', 0, null]);
    const ha = await client.zeroTrust.tunnels.warpConnector.configurations.get(warp.id, { account_id });
    expect([ha.tunnel_id, ha.ha_mode, ha.configuration_version]).toEqual([
      warp.id,
      warp.warpConfiguration?.ha_mode,
      warp.warpConfiguration?.configuration_version,
    ]);

    // Page by page as the SDK walks them; deleted routes only when asked for.
    const routes = await all(client.zeroTrust.networks.routes.list({ account_id, is_deleted: false, per_page: 3 }));
    expect(routes.map((r) => r.id).sort()).toEqual(
      account.routes
        .filter((r) => r.deleted_at === null)
        .map((r) => r.id)
        .sort(),
    );
    expect(routes.every((r) => r.virtual_network_name && r.tunnel_name && r.tun_type)).toBe(true);
    const deleted = await all(client.zeroTrust.networks.routes.list({ account_id, is_deleted: true }));
    expect(deleted.map((r) => r.network)).toEqual(['192.168.99.0/24']);
    const hostnames = await all(client.zeroTrust.networks.hostnameRoutes.list({ account_id, is_deleted: false, per_page: 1 }));
    expect(hostnames.map((r) => r.hostname).sort()).toEqual(account.hostnameRoutes.map((r) => r.hostname).sort());
    const vnets = await all(client.zeroTrust.networks.virtualNetworks.list({ account_id }));
    expect(vnets.map((v) => [v.name, v.is_default_network])).toEqual([
      ['default', true],
      ['staging', false],
    ]);
  });

  it("answers routes with the SDK's permission error where the token lacks the permission, and only there", async () => {
    const sim = await simulator({ fleet: { accounts: 2, routesForbiddenIn: 1 } });
    const [open, denied] = sim.accountIds as [string, string];
    const client = sdk(sim);
    expect((await all(client.zeroTrust.networks.routes.list({ account_id: open }))).length).toBeGreaterThan(0);
    await expect(all(client.zeroTrust.networks.routes.list({ account_id: denied }))).rejects.toBeInstanceOf(Cloudflare.PermissionDeniedError);
    await expect(all(client.zeroTrust.networks.hostnameRoutes.list({ account_id: denied }))).rejects.toBeInstanceOf(Cloudflare.PermissionDeniedError);
  });
});
