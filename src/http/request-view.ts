// What wspass reads of a request on its way to a backend: the parsed head and the endpoints of the
// connection it came on. node:http's IncomingMessage is one (with its socket); the native front, which
// reads heads without node:http, builds a small one of its own. Only the fields here may be read by the
// request helpers (client address, X-Forwarded-For, the PROXY header out, balancer facts) and the upgrade
// handler, so that both kinds of request go through the same code.
import type { IncomingHttpHeaders } from 'node:http';

/** The connection's endpoints: a net.Socket (or TLS socket), or the front's record of an accepted fd. */
export interface ConnectionView {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

export interface RequestView {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  /** [name, value, ...] as received. */
  readonly rawHeaders: string[];
  /** Lower-cased names; repeated fields as node:http combines them. */
  readonly headers: IncomingHttpHeaders;
  readonly socket: ConnectionView;
}
