// The route families, one table entry each (domain/family.ts): what a tunnel carries besides its
// public hostnames (private networks, private hostnames), so an alert can name what a down tunnel
// takes down. Made from one route at a time. Pure.
import type { Family } from '../../domain/family.js';
import type { HostnameRoute, PrivateRoute } from '../../domain/types.js';

/** `polled` ends every HELP: how often the routes are read and why never at scrape time. */
export function routeFamilies(polled: string): Family<PrivateRoute>[] {
  return [
    {
      name: 'cloudflare_tunnel_route_info',
      help: `A private network route to a tunnel (teamnet/routes; deleted routes left out), its virtual network by name; always 1. ${polled}`,
      type: 'gauge',
      labels: ['account_id', 'route_id', 'network', 'virtual_network', 'tunnel_id', 'comment'],
      samples: (r, emit) => emit([r.accountId, r.id, r.network, r.virtualNetwork, r.tunnelId, r.comment], 1),
    },
  ];
}

export function hostnameRouteFamilies(polled: string): Family<HostnameRoute>[] {
  return [
    {
      name: 'cloudflare_tunnel_hostname_route_info',
      help: `A hostname route to a tunnel (zerotrust/routes/hostname; deleted routes left out); always 1. ${polled}`,
      type: 'gauge',
      labels: ['account_id', 'route_id', 'hostname', 'tunnel_id'],
      samples: (r, emit) => emit([r.accountId, r.id, r.hostname, r.tunnelId], 1),
    },
  ];
}
