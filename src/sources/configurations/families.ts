// The configuration families, one table entry each (domain/family.ts), made per tunnel beside the
// tunnel's own (../tunnels/families.ts: TunnelView carries the configuration last read): what a
// remotely managed tunnel serves (its public hostnames), the version it should run and which
// connectors run an older one, and a WARP Connector's high-availability mode. Pure.
import { type Family, stateSet } from '../../domain/family.js';
import { activeConnections, WARP_HA_MODES } from '../../domain/types.js';
import { C, T, type TunnelView } from '../tunnels/families.js';

/** `polled` ends every HELP: when configurations are read (the settings, not their values). */
export function configurationFamilies(polled: string): Family<TunnelView>[] {
  return [
    {
      name: 'cloudflare_tunnel_config_version',
      help: `The version of a remotely managed tunnel's configuration, as last read. ${polled}`,
      type: 'gauge',
      labels: T,
      samples: (v, emit) => v.config?.ingress && emit(v.T, v.config.version),
    },
    {
      name: 'cloudflare_tunnel_ingress_info',
      help: `A public hostname (and path) a remotely managed tunnel serves: one per ingress rule with a hostname; the origin service is left out; always 1. ${polled}`,
      type: 'gauge',
      labels: [...T, 'hostname', 'path'],
      samples: (v, emit) => {
        for (const rule of v.config?.ingress ?? []) emit([...v.T, rule.hostname, rule.path], 1);
      },
    },
    {
      name: 'cloudflare_tunnel_connector_config_drift',
      help: `1 when a connector with connections runs an older configuration version than the tunnel's (cloudflared applies only newer ones), else 0. ${polled}`,
      type: 'gauge',
      labels: C,
      samples: (v, emit) => {
        const version = v.config?.ingress ? v.config.version : undefined;
        if (version === undefined || !v.conns) return;
        const connectors = v.conns.connectors;
        for (let i = 0; i < connectors.length; i++) {
          const c = connectors[i];
          if (c?.configVersion === undefined) continue;
          emit(v.C[i] as readonly string[], activeConnections(c) > 0 && c.configVersion < version ? 1 : 0);
        }
      },
    },
    {
      name: 'cloudflare_warp_connector_ha_mode',
      help: `A WARP Connector tunnel's high-availability mode as a state set (none: HA on with no provider yet, disabled, aws, local; unknown). ${polled}`,
      type: 'gauge',
      labels: [...T, 'ha_mode'],
      samples: (v, emit) => v.config?.haMode !== undefined && stateSet(emit, v.T, WARP_HA_MODES, v.config.haMode),
    },
  ];
}
