// Checks of a request head that llhttp leaves to the server, applied the same way on the plain path and on
// the upgrade path (where llhttp stops at the head and node:http checks nothing more): Host (RFC 9112
// §3.2) and the body framing (RFC 9112 §6.3). Pure.
import { isHeaderName } from './header-name.js';
import { requestFraming } from './request-framing.js';

// uri-host [ ":" port ] (RFC 3986 §3.2.2): an IP literal in brackets, or a reg-name / IPv4 address made of
// unreserved, sub-delims and percent-encoded characters; empty is allowed (a target without authority).
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** Why a request head must be answered with 400 and the connection closed; undefined when it is fine. */
export function requestHeadProblem(httpVersion: string, rawHeaders: readonly string[]): string | undefined {
  let hosts = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!isHeaderName(rawHeaders[i]!, 'host')) continue;
    hosts++;
    if (!HOST_VALUE.test(rawHeaders[i + 1]!.trim())) return 'invalid Host header';
  }
  if (hosts > 1) return 'more than one Host header';
  // HTTP/1.0 predates Host; every HTTP/1.1 request must carry one, even with an absolute-form target.
  if (hosts === 0 && httpVersion !== '1.0') return 'no Host header';
  const framing = requestFraming(rawHeaders);
  return framing.kind === 'invalid' ? framing.reason : undefined;
}
