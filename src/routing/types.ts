// Types shared by the route table (pure), the tunnel and the HTTP proxy. Nothing here touches sockets.
import type { Balancer } from '../balancer/balancer.js';
import type { BalancerMember } from '../balancer/types.js';
import type { ReverseMap } from './reverse-map.js';

/** A backend origin, parsed once when the config is compiled. */
export interface BackendOrigin {
  /** The scheme as configured. ws/http are plain TCP, wss/https are TLS. */
  readonly scheme: 'ws' | 'wss' | 'http' | 'https';
  readonly secure: boolean;
  /** Host name or IP literal without brackets. */
  readonly hostname: string;
  readonly port: number;
  /** Value for the Host header toward the backend ("host" or "host:port" when the port is not the default). */
  readonly hostHeader: string;
  /** `http://host:port` or `https://host:port`: the key of the HTTP connection pool. */
  readonly httpOrigin: string;
}

/** TLS options toward a backend, with the CA file already read. */
export interface BackendTls {
  readonly ca?: string;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

/** Which Upgrade protocols a route tunnels. */
export type UpgradePolicy =
  | { readonly kind: 'list'; readonly protocols: readonly string[] } // lower-cased names, e.g. ['websocket']
  | { readonly kind: 'any' }
  | { readonly kind: 'none' } // Apache's upgrade=NONE: WebSocket, whatever the client's Upgrade says
  | { readonly kind: 'never' }; // `upgrade: false`, and http(s):// backends by default: plain HTTP only

/** Per-route behaviour after defaults are applied. */
export interface RouteOptions {
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly preserveHost: boolean;
  readonly forwardedHeaders: boolean;
  readonly async: boolean;
  readonly asyncDelayMs: number;
  readonly highWaterMarkBytes: number;
  readonly upgrade: UpgradePolicy;
  readonly upgradeOnly: boolean;
  readonly tls: BackendTls | undefined;
  /** Send a PROXY protocol v2 header first on every backend connection (`proxyProtocol: v2`). */
  readonly proxyProtocol?: 'v2' | undefined;
}

export interface CompiledRoute extends RouteOptions {
  readonly index: number;
  /** `name` from the config, or one derived from what the route matches (route-names.ts). */
  readonly name: string;
  /** The backend; for a balancer route, its first member's (use `balancer.targets` to reach each member). */
  readonly backend: BackendOrigin;
  /** Set for `backend: balancer://name/...` routes. */
  readonly balancer?: RouteBalancer | undefined;
  /** How answers are mapped back (`reverse`); undefined: relayed as the backend wrote them. */
  readonly reverse?: ReverseMap | undefined;
  /** X-Forwarded-Server (`serverName`, else `defaults.serverName`); undefined: the proxy's own name. */
  readonly serverName?: string | undefined;
}

/** This route aimed at one member: the origin, TLS and options to reach it, and its path prefix. */
export interface MemberTarget {
  readonly member: BalancerMember;
  /** The route with `backend` (and `tls`) of this member and no `balancer`. */
  readonly route: CompiledRoute;
}

export interface RouteBalancer {
  readonly balancer: Balancer;
  /** One per member, indexed by `member.index`. */
  readonly targets: readonly MemberTarget[];
}

/** What the route table needs to know about a request. */
export interface RequestFacts {
  /** The request target as received (origin-form: path and optional query). */
  readonly url: string;
  /** Host header value, if any. */
  readonly host: string | undefined;
  /** Index in `listen` of the listener the request arrived on (routes with `listener` need it). */
  readonly listener?: number;
  /** Returns the header value (several values joined with ", "), or undefined when absent. */
  header(name: string): string | undefined;
}

/** The result of a successful match. */
export interface RouteMatch {
  readonly route: CompiledRoute;
  /** Path and query to send to the backend (origin-form, percent-encoded), e.g. "/chat/room?x=1". */
  readonly backendPath: string;
}

/** A route with `respond`: the request is answered with this status, not proxied. */
export interface FixedAnswer {
  readonly respond: number;
  /** The route's name (route-names.ts; for the log). */
  readonly name: string;
}
