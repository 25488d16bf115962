// The Zero Trust Gateway proxy endpoint families, one table entry each (domain/family.ts), made
// from one endpoint at a time. Pure.
import type { Family } from '../../domain/family.js';
import type { ProxyEndpoint } from '../../domain/types.js';

/** `polled` ends every HELP: how often the endpoints are read and why never at scrape time. */
export function gatewayFamilies(polled: string): Family<ProxyEndpoint>[] {
  return [
    {
      name: 'cloudflare_gateway_proxy_endpoint_info',
      help: `Zero Trust Gateway proxy endpoint metadata; always 1. ${polled}`,
      type: 'gauge',
      labels: ['account_id', 'endpoint_id', 'name', 'kind', 'subdomain'],
      samples: (e, emit) => emit([e.accountId, e.id, e.name, e.kind, e.subdomain], 1),
    },
    {
      name: 'cloudflare_gateway_proxy_endpoint_ip_ranges',
      help: `CIDRs allowed to use the Gateway proxy endpoint (0 for identity endpoints). ${polled}`,
      type: 'gauge',
      labels: ['account_id', 'endpoint_id', 'name'],
      samples: (e, emit) => emit([e.accountId, e.id, e.name], e.ipRanges),
    },
  ];
}
