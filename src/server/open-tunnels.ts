// The open tunnels of one thread, as the admin endpoint lists and closes them. One small record per
// tunnel (no closure, no socket): what a listing, the close line and the counters need that the Tunnel
// itself does not know. Ids are unique across the workers of a process: each worker counts from its own
// base (see WorkerInit.tunnelIdBase), and ascend in opening order, so a listing pages with `after` = the
// last id seen.
import type { BalancerMember } from '../balancer/types.js';
import type { TunnelTicket } from '../limits/tunnel-admission.js';
import type { TunnelFacts } from '../log/access-log.js';
import type { CompiledRoute } from '../routing/types.js';
import { tunnelClock, type Tunnel } from '../tunnel/tunnel.js';

/**
 * The one record the server keeps per open tunnel, beside the engine's own (the engine's close hands
 * it back). Every field is one the listing, the close line, the limits or the counters need; strings the
 * same for every tunnel (route name, member URL, upgrade token) are shared, not copied.
 */
export class OpenTunnel {
  /** Numbered by the server when it starts keeping the tunnel. */
  id = 0;
  /** Set right after the engine started it. */
  tunnel!: Tunnel;
  /** Bytes of it already added to the shared counters (the stats keep nothing per tunnel). */
  countedToBackend = 0;
  countedToClient = 0;

  constructor(
    readonly compiledRoute: CompiledRoute,
    /** The balancer member that took it; undefined on a route without a balancer. */
    readonly balancerMember: BalancerMember | undefined,
    /** clientAddress() of the upgrade request. */
    readonly client: string,
    readonly url: string,
    /** The 101's Upgrade and Sec-WebSocket-Protocol. */
    readonly upgrade: string,
    readonly subprotocol: string | undefined,
    /** The limit counts it holds, given back when it closes. */
    readonly ticket: TunnelTicket | undefined,
  ) {}

  get route(): string {
    return this.compiledRoute.name;
  }

  /** The balancer member's URL. */
  get member(): string | undefined {
    return this.balancerMember?.url;
  }

  get bytesToBackend(): number {
    return this.tunnel.bytesToBackend;
  }

  get bytesToClient(): number {
    return this.tunnel.bytesToClient;
  }

  get engine(): 'js' | 'native' {
    return this.tunnel.engine;
  }

  get flushes(): number {
    return this.tunnel.flushes;
  }

  /** What the access log says about it (made when a line is written, not kept). */
  facts(): TunnelFacts {
    return { route: this.route, url: this.url, client: this.client, member: this.member, upgrade: this.upgrade, subprotocol: this.subprotocol };
  }
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

/** Up to `q.limit` tunnels with ids above `q.after`, in id order (the set holds them in opening order). */
export function listOpenTunnels(open: Iterable<OpenTunnel>, q: TunnelQuery, worker: number, now = tunnelClock()): TunnelInfo[] {
  const out: TunnelInfo[] = [];
  for (const t of open) {
    const tunnel = t.tunnel;
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
      ageMs: now - tunnel.startedAt,
      bytesToBackend: tunnel.bytesToBackend,
      bytesToClient: tunnel.bytesToClient,
    });
  }
  return out;
}

/** The tunnels `sel` names (a scan: closing on request is rare, a second index per tunnel is not free). */
export function selectOpenTunnels(open: Iterable<OpenTunnel>, sel: TunnelSelector): Tunnel[] {
  const out: Tunnel[] = [];
  for (const t of open) {
    if ('id' in sel ? t.id === sel.id : t.member === sel.member) out.push(t.tunnel);
    if ('id' in sel && out.length > 0) break;
  }
  return out;
}
