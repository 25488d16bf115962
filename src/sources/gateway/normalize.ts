// Gateway proxy endpoints as the exporter keeps them. Pure.
import type { ProxyEndpoint } from '../../domain/types.js';
import { bounded, type Cuts, noCuts } from '../answer.js';
import type { ApiProxyEndpoint } from './api.js';

/** Gateway proxy endpoints; an id the API repeats is kept once (two series would be a lie). */
export function normalizeProxyEndpoints(accountId: string, endpoints: ApiProxyEndpoint[], cuts: Cuts = noCuts()): ProxyEndpoint[] {
  const seen = new Set<string>();
  return endpoints
    .filter((e) => !seen.has(e.id) && seen.add(e.id))
    .map((e) => ({
      accountId,
      id: e.id,
      name: bounded(e.name, cuts),
      kind: bounded(e.kind ?? 'ip', cuts),
      subdomain: bounded(e.subdomain ?? '', cuts),
      ipRanges: e.ips?.length ?? 0,
    }));
}
