// Decides, from the request head alone, whether an upgrade request is tunnelled and with which protocol
// name toward the backend. Pure: called from node:http's shouldUpgradeCallback, before the body is parsed,
// so a request that is not tunnelled is still parsed and proxied as ordinary HTTP.
import type { FixedAnswer, RouteMatch, UpgradePolicy } from '../routing/types.js';

export type UpgradeDecision =
  | { readonly tunnel: true; readonly match: RouteMatch; readonly protocol: string }
  | { readonly tunnel: false };

const PLAIN: UpgradeDecision = { tunnel: false };

/**
 * The protocol to ask the backend for, or undefined when the route does not tunnel what the client asked.
 * `clientUpgrade` is the client's Upgrade header value (a token list).
 */
export function chooseProtocol(policy: UpgradePolicy, clientUpgrade: string | undefined): string | undefined {
  switch (policy.kind) {
    case 'never':
      // Proxied as plain HTTP, where Upgrade is dropped as a hop-by-hop header (Apache's http:// worker).
      return undefined;
    case 'none':
      // Apache's upgrade=NONE: no check of the client's header, WebSocket toward the backend.
      return 'websocket';
    case 'any': {
      // ANY forwards the client's own protocol (first offered, with its version if any).
      const first = clientUpgrade?.split(',')[0]?.trim();
      return first ? first : undefined;
    }
    case 'list': {
      for (const raw of (clientUpgrade ?? '').split(',')) {
        const token = raw.trim();
        const name = token.split('/')[0]?.trim().toLowerCase() ?? '';
        if (name && policy.protocols.includes(name)) return token;
      }
      return undefined;
    }
  }
}

/**
 * An upgrade on HTTP/1.0 is ignored (RFC 9110 §7.8), so is one with no route or a protocol the route does
 * not allow: those requests go on as plain HTTP (where the route table answers 404 when nothing matches).
 * A route with `respond` is never tunnelled: the plain path answers its status.
 */
export function decideUpgrade(
  httpVersion: string,
  upgradeHeader: string | undefined,
  match: RouteMatch | FixedAnswer | null | 'bad-request',
): UpgradeDecision {
  if (httpVersion !== '1.1') return PLAIN;
  if (match === null || match === 'bad-request' || 'respond' in match) return PLAIN;
  const protocol = chooseProtocol(match.route.upgrade, upgradeHeader);
  return protocol === undefined ? PLAIN : { tunnel: true, match, protocol };
}
