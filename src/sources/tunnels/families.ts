// Tunnel, connector and connection series from the snapshot, one tunnel at a time (so the renderer
// can reuse a tunnel's lines while nothing about it changed). Pure: no I/O.

import { addSample, addStateSet, type Families, seconds } from '../../domain/family.js';
import { activeConnections, countByColo, HA_STATUSES, missingConnections, TUNNEL_STATUSES, type Tunnel, type TunnelConnections } from '../../domain/types.js';

/**
 * Every series of one tunnel. `conns` is left out by the caller when that tunnel's connections
 * data is missing or older than STALE_DATA_MAX_AGE: then only its list series are shown.
 */
export function tunnelSamples(t: Tunnel, conns: TunnelConnections | undefined, transitions: number, families: Families): void {
  const T = { account_id: t.accountId, tunnel_id: t.id, tunnel_name: t.name, tunnel_type: t.type };
  addSample(families, 'cloudflare_tunnel_info', { ...T, config_src: t.configSrc }, 1);
  addStateSet(families, 'cloudflare_tunnel_status', T, 'status', TUNNEL_STATUSES, t.status);
  if (t.createdAt !== undefined) addSample(families, 'cloudflare_tunnel_created_timestamp_seconds', T, seconds(t.createdAt));
  if (t.connsActiveAt !== undefined) addSample(families, 'cloudflare_tunnel_connected_since_timestamp_seconds', T, seconds(t.connsActiveAt));
  if (t.connsInactiveAt !== undefined) addSample(families, 'cloudflare_tunnel_disconnected_since_timestamp_seconds', T, seconds(t.connsInactiveAt));
  addSample(families, 'cloudflare_tunnel_status_transitions_total', T, transitions);
  if (!conns) return;

  addSample(families, 'cloudflare_tunnel_connectors', T, conns.connectors.length);
  addSample(families, 'cloudflare_tunnel_connector_replacements_total', T, conns.replacements);
  for (const connector of conns.connectors) {
    const C = { account_id: t.accountId, tunnel_id: t.id, connector_id: connector.id };
    addSample(families, 'cloudflare_tunnel_connector_info', { ...C, version: connector.version, arch: connector.arch, origin_ip: connector.originIp }, 1);
    addSample(families, 'cloudflare_tunnel_connector_active_connections', C, activeConnections(connector));
    addSample(families, 'cloudflare_tunnel_connector_missing_connections', { ...T, connector_id: connector.id }, missingConnections(connector));
    if (connector.configVersion !== undefined) addSample(families, 'cloudflare_tunnel_connector_config_version', C, connector.configVersion);
    if (connector.runAt !== undefined) addSample(families, 'cloudflare_tunnel_connector_started_timestamp_seconds', C, seconds(connector.runAt));
    if (connector.haStatus !== undefined) addStateSet(families, 'cloudflare_tunnel_connector_ha_status', C, 'ha_status', HA_STATUSES, connector.haStatus);
  }
  for (const [colo, count] of countByColo(conns)) {
    const TC = { ...T, colo };
    addSample(families, 'cloudflare_tunnel_connections', TC, count.active);
    addSample(families, 'cloudflare_tunnel_pending_reconnect_connections', TC, count.pending);
    addSample(families, 'cloudflare_tunnel_connection_reconnects_total', TC, count.reconnects);
  }
}
