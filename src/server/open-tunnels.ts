// The open tunnels of one thread, as the admin endpoint lists and closes them. One small record per
// tunnel (no closure, no socket): what a listing shows that the Tunnel itself does not know. Ids are
// unique across the workers of a process: each worker counts from its own base (see WorkerInit.tunnelIdBase),
// and ascend in opening order, so a listing pages with `after` = the last id seen.
import type { Tunnel } from '../tunnel/tunnel.js';

export interface OpenTunnel {
  readonly id: number;
  readonly route: string;
  /** The balancer member's URL; undefined on a route without a balancer. */
  readonly member: string | undefined;
  /** clientAddress() of the upgrade request. */
  readonly client: string;
  /** Date.now() when the tunnel started. */
  readonly startedAt: number;
}

/** One tunnel as the admin endpoint shows it. */
export interface TunnelInfo {
  readonly id: number;
  readonly worker: number;
  readonly route: string;
  readonly member: string | null;
  readonly client: string;
  readonly engine: 'native' | 'js';
  readonly ageMs: number;
  readonly bytesToBackend: number;
  readonly bytesToClient: number;
}

export interface TunnelQuery {
  /** Only ids above this one (0: from the start). */
  readonly after: number;
  readonly limit: number;
  readonly member?: string | undefined;
  readonly route?: string | undefined;
}

/** Which tunnels to close: one by id, or every tunnel of a balancer member. */
export type TunnelSelector = { readonly id: number } | { readonly member: string };

/** Up to `q.limit` tunnels with ids above `q.after`, in id order (the map holds them in opening order). */
export function listOpenTunnels(open: ReadonlyMap<Tunnel, OpenTunnel>, q: TunnelQuery, worker: number, now = Date.now()): TunnelInfo[] {
  const out: TunnelInfo[] = [];
  for (const [tunnel, t] of open) {
    if (out.length >= q.limit) break;
    if (t.id <= q.after) continue;
    if (q.member !== undefined && t.member !== q.member) continue;
    if (q.route !== undefined && t.route !== q.route) continue;
    out.push({
      id: t.id,
      worker,
      route: t.route,
      member: t.member ?? null,
      client: t.client,
      engine: tunnel.engine,
      ageMs: now - t.startedAt,
      bytesToBackend: tunnel.bytesToBackend,
      bytesToClient: tunnel.bytesToClient,
    });
  }
  return out;
}

/** The tunnels `sel` names (a scan: closing on request is rare, a second index per tunnel is not free). */
export function selectOpenTunnels(open: ReadonlyMap<Tunnel, OpenTunnel>, sel: TunnelSelector): Tunnel[] {
  const out: Tunnel[] = [];
  for (const [tunnel, t] of open) {
    if ('id' in sel ? t.id === sel.id : t.member === sel.member) out.push(tunnel);
    if ('id' in sel && out.length > 0) break;
  }
  return out;
}
