// The tunnel, connector and connection families, one table entry each (domain/family.ts), made
// from one tunnel at a time so the renderer can keep a tunnel's lines while nothing about it
// changed. Pure: no I/O.
import { type Emit, type Family, stateSet, whenSet } from '../../domain/family.js';
import {
  activeConnections,
  type ColoCounts,
  type Connector,
  countByColo,
  HA_STATUSES,
  missingConnections,
  TUNNEL_STATUSES,
  type Tunnel,
  type TunnelConfiguration,
  type TunnelConnections,
} from '../../domain/types.js';

/**
 * One tunnel as its families read it. `conns` is left out when that tunnel's connections data is
 * missing or too old (STALE_DATA_MAX_AGE): then only its list series are shown.
 */
export interface TunnelView {
  tunnel: Tunnel;
  conns: TunnelConnections | undefined;
  transitions: number;
  /** The values of T: account_id, tunnel_id, tunnel_name, tunnel_type. */
  T: readonly string[];
  colos: Map<string, ColoCounts> | undefined;
  /** Per connector, the values of C: account_id, tunnel_id, connector_id. */
  C: readonly (readonly string[])[];
  /** Its configuration as last read (sources/configurations/), left out like `conns` when too old. */
  config: TunnelConfiguration | undefined;
}

export function tunnelView(tunnel: Tunnel, conns: TunnelConnections | undefined, transitions: number, config?: TunnelConfiguration): TunnelView {
  return {
    config,
    tunnel,
    conns,
    transitions,
    T: [tunnel.accountId, tunnel.id, tunnel.name, tunnel.type],
    colos: conns ? countByColo(conns) : undefined,
    C: conns ? conns.connectors.map((c) => [tunnel.accountId, tunnel.id, c.id]) : [],
  };
}

/** The labels of a tunnel's series (<T>) and of a connector's. */
export const T = ['account_id', 'tunnel_id', 'tunnel_name', 'tunnel_type'] as const;
export const C = ['account_id', 'tunnel_id', 'connector_id'] as const;

/** Per connector of a read tunnel: the values of C and the connector. */
function eachConnector(v: TunnelView, each: (values: readonly string[], connector: Connector) => void): void {
  const connectors = v.conns?.connectors ?? [];
  for (let i = 0; i < connectors.length; i++) each(v.C[i] as readonly string[], connectors[i] as Connector);
}

function eachColo(v: TunnelView, emit: Emit, value: (count: ColoCounts) => number): void {
  for (const [colo, count] of v.colos ?? []) emit(v.T, value(count), colo);
}

/**
 * The tunnel's families, in the order of the exposition: what the list says, what its connections
 * read adds per tunnel, then per connector. `polled` ends every HELP: the setting the list is
 * read on (not its value).
 */
export function tunnelFamilies(polled: string): Family<TunnelView>[] {
  return [...listedFamilies(polled), ...connectionFamilies(polled), ...connectorFamilies(polled)];
}

/** What the tunnel list itself says about each tunnel. */
function listedFamilies(polled: string): Family<TunnelView>[] {
  return [
    {
      name: 'cloudflare_tunnel_info',
      help: `Cloudflare Tunnel metadata; always 1. ${polled}`,
      type: 'gauge',
      labels: [...T, 'config_src'],
      samples: (v, emit) => emit(v.T, 1, v.tunnel.configSrc),
    },
    {
      name: 'cloudflare_tunnel_status',
      help: `Tunnel status as a state set: 1 for the current status (healthy, degraded, down, inactive, unknown), 0 for the others. ${polled}`,
      type: 'gauge',
      labels: [...T, 'status'],
      samples: (v, emit) => stateSet(emit, v.T, TUNNEL_STATUSES, v.tunnel.status),
    },
    {
      name: 'cloudflare_tunnel_created_timestamp_seconds',
      help: `When the tunnel was created, in Unix seconds. ${polled}`,
      type: 'gauge',
      labels: T,
      samples: (v, emit) => whenSet(emit, v.T, v.tunnel.createdAt),
    },
    {
      name: 'cloudflare_tunnel_connected_since_timestamp_seconds',
      help: `When the tunnel last became connected (conns_active_at), in Unix seconds; absent when never. ${polled}`,
      type: 'gauge',
      labels: T,
      samples: (v, emit) => whenSet(emit, v.T, v.tunnel.connsActiveAt),
    },
    {
      name: 'cloudflare_tunnel_disconnected_since_timestamp_seconds',
      help: `When the tunnel last lost its connections (conns_inactive_at), in Unix seconds; absent when never. ${polled}`,
      type: 'gauge',
      labels: T,
      samples: (v, emit) => whenSet(emit, v.T, v.tunnel.connsInactiveAt),
    },
  ];
}

/** Per tunnel, from its connections read (and, last, the status changes between list reads). */
function connectionFamilies(polled: string): Family<TunnelView>[] {
  return [
    {
      name: 'cloudflare_tunnel_connectors',
      help: `Connectors (cloudflared or WARP Connector instances) the connections endpoint lists for the tunnel. ${polled}`,
      type: 'gauge',
      labels: T,
      samples: (v, emit) => v.conns && emit(v.T, v.conns.connectors.length),
    },
    {
      name: 'cloudflare_tunnel_connections',
      help: `Connections the tunnel's connectors hold to a Cloudflare colo now. ${polled}`,
      type: 'gauge',
      labels: [...T, 'colo'],
      samples: (v, emit) => eachColo(v, emit, (count) => count.active),
    },
    {
      name: 'cloudflare_tunnel_pending_reconnect_connections',
      help: `Derived by the exporter (the API's is_pending_reconnect is always false): connections gone from a still-listed connector that no newer connector replaced and that holds fewer than it should, in the colo they were in. ${polled}`,
      type: 'gauge',
      labels: [...T, 'colo'],
      samples: (v, emit) => eachColo(v, emit, (count) => count.pending),
    },
    {
      name: 'cloudflare_tunnel_connection_reconnects_total',
      help: `Derived by the exporter: new connections that replaced dropped ones, in the colo of the one replaced, since this process started (several between two reads count as one). ${polled}`,
      type: 'counter',
      labels: [...T, 'colo'],
      samples: (v, emit) => eachColo(v, emit, (count) => count.reconnects),
    },
    {
      name: 'cloudflare_tunnel_connector_replacements_total',
      help: `Derived by the exporter: a new connector (cloudflared makes one at every start) taking over from one that emptied or left, since this process started. About one a day is the auto-update; many an hour, a crash loop. ${polled}`,
      type: 'counter',
      labels: T,
      samples: (v, emit) => v.conns && emit(v.T, v.conns.replacements),
    },
    {
      name: 'cloudflare_tunnel_status_transitions_total',
      help: `Tunnel status changes this exporter process has observed between polls. ${polled}`,
      type: 'counter',
      labels: T,
      samples: (v, emit) => emit(v.T, v.transitions),
    },
  ];
}

/** Per connector of a read tunnel. */
function connectorFamilies(polled: string): Family<TunnelView>[] {
  return [
    {
      name: 'cloudflare_tunnel_connector_info',
      help: `Tunnel connector metadata (cloudflared version, architecture, origin IP); always 1. ${polled}`,
      type: 'gauge',
      labels: [...C, 'version', 'arch', 'origin_ip'],
      samples: (v, emit) => eachConnector(v, (values, c) => emit([...values, c.version, c.arch, c.originIp], 1)),
    },
    {
      name: 'cloudflare_tunnel_connector_active_connections',
      help: `Connections the connector holds now. ${polled}`,
      type: 'gauge',
      labels: C,
      samples: (v, emit) => eachConnector(v, (values, c) => emit(values, activeConnections(c))),
    },
    {
      name: 'cloudflare_tunnel_connector_missing_connections',
      help: `Derived by the exporter: the connections a connector should hold (CLOUDFLARED_HA_CONNECTIONS, or learned) minus those it holds, from its first read; 0 once a newer connector replaced it. ${polled}`,
      type: 'gauge',
      labels: [...T, 'connector_id'],
      samples: (v, emit) => eachConnector(v, (_, c) => emit(v.T, missingConnections(c), c.id)),
    },
    {
      name: 'cloudflare_tunnel_connector_config_version',
      help: `Remote configuration version the connector runs. ${polled}`,
      type: 'gauge',
      labels: C,
      samples: (v, emit) => eachConnector(v, (values, c) => c.configVersion !== undefined && emit(values, c.configVersion)),
    },
    {
      name: 'cloudflare_tunnel_connector_started_timestamp_seconds',
      help: `When the connector process started (run_at), in Unix seconds. ${polled}`,
      type: 'gauge',
      labels: C,
      samples: (v, emit) => eachConnector(v, (values, c) => whenSet(emit, values, c.runAt)),
    },
    {
      name: 'cloudflare_tunnel_connector_ha_status',
      help: `WARP Connector high-availability status as a state set (active, passive, offline). ${polled}`,
      type: 'gauge',
      labels: [...C, 'ha_status'],
      samples: (v, emit) => eachConnector(v, (values, c) => c.haStatus !== undefined && stateSet(emit, values, HA_STATUSES, c.haStatus)),
    },
  ];
}
