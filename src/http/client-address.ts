// The client's address as wspass uses it: in X-Forwarded-For, in hash stickiness, in logs and in
// limits. One function, so every consumer agrees on who the client is. Today it is the peer of the
// client connection; a listener that accepts the PROXY protocol or trusts X-Forwarded-For from known
// hops replaces it here.
import type { IncomingMessage } from 'node:http';

/** The client's address for `req` ('' when the socket no longer knows it). */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? '';
}
