// Configurations as the exporter keeps them. Pure.
import { type IngressRule, type TunnelConfiguration, WARP_HA_MODES, type WarpHaMode } from '../../domain/types.js';
import { bounded, type Cuts, noCuts, oneOf } from '../answer.js';
import type { ApiTunnelConfiguration, ApiWarpConfiguration } from './api.js';

/** Ingress rules per tunnel kept at most (cloudflared has no limit; a label set per rule must have one). */
const MAX_INGRESS_RULES = 100;

/** The rules that serve a hostname, each (hostname, path) once; the catch-all rule has none. The origin `service` is never kept. */
export function normalizeTunnelConfiguration(tunnelId: string, answer: ApiTunnelConfiguration, fetchedAt: number, cuts: Cuts = noCuts()): TunnelConfiguration {
  const ingress: IngressRule[] = [];
  const seen = new Set<string>();
  for (const rule of answer.config?.ingress ?? []) {
    const hostname = rule.hostname?.trim();
    if (!hostname) continue;
    const path = rule.path ?? '';
    const key = `${hostname}\n${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (ingress.length >= MAX_INGRESS_RULES) {
      cuts.label_values++;
      continue;
    }
    ingress.push({ hostname: bounded(hostname, cuts), path: bounded(path, cuts) });
  }
  return { tunnelId, version: answer.version ?? 0, ingress, fetchedAt };
}

export function normalizeWarpConfiguration(tunnelId: string, answer: ApiWarpConfiguration, fetchedAt: number): TunnelConfiguration {
  const haMode: WarpHaMode = oneOf(WARP_HA_MODES, answer.ha_mode, 'unknown');
  return { tunnelId, version: answer.configuration_version, haMode, fetchedAt };
}
