// Checks of a request head that llhttp leaves to the server, applied the same way on the plain path and on
// the upgrade path (where llhttp stops at the head and node:http checks nothing more): Host (RFC 9112
// §3.2) and the body framing (RFC 9112 §6.3). Pure.
import { isHeaderName } from './header-name.js';
import { requestFraming } from './request-framing.js';

// uri-host [ ":" port ] (RFC 3986 §3.2.2): an IP literal in brackets, or a reg-name / IPv4 address made of
// unreserved, sub-delims and percent-encoded characters; empty is allowed (a target without authority).
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** reg-name characters (unreserved, sub-delims, '%'): the third alternative of HOST_VALUE. */
const REG_NAME = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%") REG_NAME[ch.charCodeAt(0)] = 1;

/**
 * HOST_VALUE.test(value), answered without the regex for the usual `name` or `name:port` (every request
 * carries a Host): a value this scan accepts is one the regex's reg-name alternative matches; anything
 * else (an IP literal in brackets, a character outside reg-name) is left to the regex.
 */
function validHost(value: string): boolean {
  let i = 0;
  const n = value.length;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c >= 128 || REG_NAME[c] !== 1) break;
    i++;
  }
  if (i < n && value.charCodeAt(i) === 0x3a) {
    i++;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      i++;
    }
  }
  return i === n || HOST_VALUE.test(value);
}

/** Why a request head must be answered with 400 and the connection closed; undefined when it is fine. */
export function requestHeadProblem(httpVersion: string, rawHeaders: readonly string[]): string | undefined {
  let hosts = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!isHeaderName(rawHeaders[i]!, 'host')) continue;
    hosts++;
    if (!validHost(rawHeaders[i + 1]!.trim())) return 'invalid Host header';
  }
  if (hosts > 1) return 'more than one Host header';
  // HTTP/1.0 predates Host; every HTTP/1.1 request must carry one, even with an absolute-form target.
  if (hosts === 0 && httpVersion !== '1.0') return 'no Host header';
  const framing = requestFraming(rawHeaders);
  return framing.kind === 'invalid' ? framing.reason : undefined;
}
