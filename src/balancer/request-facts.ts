// BalanceFacts over a node:http request: the client address, headers, cookies and query parameters a
// strategy may need, each computed only when asked (most strategies ask for none or one). Reads the
// parsed request only; never the socket's data.
import type { RequestView } from '../http/request-view.js';
import { cookieValue } from './sticky-cookie.js';
import type { BalanceFacts } from './types.js';

/** `clientIp`: the client's address as the caller determined it (peer, PROXY protocol or trusted hop). */
export function balanceFacts(req: RequestView, clientIp: string): BalanceFacts {
  let query: URLSearchParams | undefined;
  return {
    clientIp,
    target: req.url ?? '',
    header(name: string): string | undefined {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    cookie(name: string): string | undefined {
      return cookieValue(req.headers.cookie, name);
    },
    query(name: string): string | undefined {
      if (query === undefined) {
        const url = req.url ?? '';
        const q = url.indexOf('?');
        query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      }
      return query.get(name) ?? undefined;
    },
  };
}
