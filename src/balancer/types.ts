// Types shared by the balancer's pure parts (strategies, stickiness, the Balancer) and the proxy that uses
// them. Nothing here touches sockets.
import type { BackendOrigin, BackendTls } from '../routing/types.js';

/** What a strategy may look at in a request. Each accessor is computed on demand. */
export interface BalanceFacts {
  /** The peer address of the client connection (not X-Forwarded-For, which a client can forge). */
  readonly clientIp: string;
  /** The request target as received (path and query): stickiness reads its URL parameter. */
  readonly target: string;
  /** Header value (several joined with ", "), or undefined. `name` is lower case. */
  header(name: string): string | undefined;
  /** Value of a request cookie, or undefined. */
  cookie(name: string): string | undefined;
  /** Value of a query parameter (first occurrence, decoded), or undefined. */
  query(name: string): string | undefined;
}

/** One member of a compiled balancer. */
export interface BalancerMember {
  /** Position in the balancer's `members` (config order). */
  readonly index: number;
  /** Slot in the MemberTable. */
  readonly slot: number;
  /** The URL as configured: the member's identity in runtime control and logs. */
  readonly url: string;
  /** Sticky route name (configured, or derived from the URL). */
  readonly route: string;
  /** Hash of the URL, the member's seed in rendezvous hashing (the same in every process). */
  readonly hashSeed: number;
  readonly origin: BackendOrigin;
  /** The member URL's path without its trailing slash, put before the path the route sends ('' for none). */
  readonly pathPrefix: string;
  /** TLS settings of `defaults` for a secure member (health probes; a route's own `tls` wins for traffic). */
  readonly tls: BackendTls | undefined;
  /** `proxyProtocol` of the member's config. */
  readonly proxyProtocol?: 'v2' | undefined;
}

/** The live numbers strategies read (from the shared MemberTable, or a fake in tests). */
export interface LoadView {
  weight(slot: number): number;
  /** Active tunnels plus requests in flight, across every thread. */
  busy(slot: number): number;
  bytes(slot: number): number;
}

/** Chooses one member among usable candidates (never empty). Strategies are pure apart from their own counters. */
export interface Strategy {
  pick(candidates: readonly BalancerMember[], facts: BalanceFacts): BalancerMember;
}
