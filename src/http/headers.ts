// Header rules shared by the tunnel handshake and the HTTP proxy: token lists, the hop-by-hop set, the
// header list sent to a backend and relayed back to a client, and serialising a message head. Pure: works
// on node:http's flat raw header arrays ([name, value, name, value, ...]) and never touches sockets.
//
// HOP_BY_HOP is the RFC 9110 §7.6.1 set plus Trailer (RFC 2616 listed it; its fields ride the chunked
// framing, which the HTTP proxy replaces). Proxy-Authenticate and Proxy-Authorization are NOT in it: RFC
// 9110 §11.7 does not make them hop-by-hop, and a reverse proxy that does no proxy authentication itself
// passes them on, as Apache does without proxy-chain-auth in play.

import type { IncomingHttpHeaders } from 'node:http';
import { FIELD_TEXT, TOKEN } from './field-syntax.js';
import { isHeaderName } from './header-name.js';

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Comma-separated tokens, trimmed, lower-cased, empty elements dropped. */
export function tokenList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t !== '') out.push(t.toLowerCase());
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/**
 * Visits each comma-separated element of a list as value[a, b), `pad` characters trimmed off both ends (empty
 * elements too); true from `visit` stops the scan and is returned. Nothing is allocated: these lists are read
 * on every request (Connection, Upgrade, Expect).
 */
function scanList(value: string, pad: (c: number) => boolean, visit: (value: string, a: number, b: number, arg: string) => boolean, arg: string): boolean {
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && pad(value.charCodeAt(a))) a++;
    while (b > a && pad(value.charCodeAt(b - 1))) b--;
    if (visit(value, a, b, arg)) return true;
    start = end + 1;
  }
  return false;
}

/** Whether value[a, b) is `token`, letter case ignored (ASCII). */
function isTokenAt(value: string, a: number, b: number, token: string): boolean {
  if (b - a !== token.length) return false;
  let i = 0;
  while (i < token.length && lower(value.charCodeAt(a + i)) === lower(token.charCodeAt(i))) i++;
  return i === token.length;
}

function listHasToken(value: string, token: string): boolean {
  return scanList(value, isSpace, isTokenAt, token);
}

/** All values of header `name` (lower-case) in a flat raw list, joined with ", "; undefined when absent. */
export function rawHeaderValue(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (isHeaderName(rawHeaders[i]!, name)) {
      const v = rawHeaders[i + 1]!;
      value = value === undefined ? v : `${value}, ${v}`;
    }
  }
  return value;
}

/** True when the token list (or any of several lists) contains `token`, compared case-insensitively. */
export function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  if (typeof value === 'string') return listHasToken(value, token);
  for (const v of value) if (listHasToken(v, token)) return true;
  return false;
}

/** The list without every header named `lowerName`; the same array when there is none. */
export function withoutHeader<T extends readonly string[]>(rawHeaders: T, lowerName: string): T | string[] {
  let i = 0;
  while (i < rawHeaders.length && !isHeaderName(rawHeaders[i]!, lowerName)) i += 2;
  if (i >= rawHeaders.length) return rawHeaders;
  const out = rawHeaders.slice(0, i);
  for (; i + 1 < rawHeaders.length; i += 2) {
    if (!isHeaderName(rawHeaders[i]!, lowerName)) out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return out;
}

/** The protocol names of an Upgrade header (`websocket`, `h2c/1.0` → `h2c`), lower-cased, in order. */
export function upgradeProtocols(value: string | undefined): string[] {
  const out: string[] = [];
  for (const t of tokenList(value)) {
    const slash = t.indexOf('/');
    const name = (slash === -1 ? t : t.slice(0, slash)).trim();
    if (name !== '') out.push(name);
  }
  return out;
}

/**
 * The client address as written in X-Forwarded-For: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a
 * dual-stack listener reports) as plain IPv4, and `unknown` when the socket no longer knows it.
 */
export function forwardedForValue(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined || remoteAddress === '') return 'unknown';
  if (remoteAddress.length > 7 && remoteAddress.slice(0, 7).toLowerCase() === '::ffff:' && remoteAddress.includes('.')) {
    return remoteAddress.slice(7);
  }
  return remoteAddress;
}

export interface ForwardRequestOptions {
  /** The client's Host header, if any. */
  readonly host: string | undefined;
  /** Host header naming the backend (BackendOrigin.hostHeader). */
  readonly backendHostHeader: string;
  /** Send the client's Host instead of backendHostHeader (falls back to it when the client sent none). */
  readonly preserveHost: boolean;
  /** Append X-Forwarded-For/-Host/-Server and set X-Forwarded-Proto. */
  readonly forwardedHeaders: boolean;
  /** Value appended to X-Forwarded-For (see forwardedForValue); with replaceForwardedFor, the whole value. */
  readonly clientIp: string;
  /**
   * Drop the client's X-Forwarded-For and send `clientIp` alone (a client cannot plant addresses), instead of
   * appending to it as Apache does.
   */
  readonly replaceForwardedFor?: boolean;
  /** Value appended to X-Forwarded-Server: this proxy's name. */
  readonly serverName: string;
  /** Scheme the client used toward wspass, for X-Forwarded-Proto. */
  readonly clientProto: 'http' | 'https';
  /**
   * Keep Transfer-Encoding (and Trailer): the tunnel sends the client's body bytes raw, so the framing
   * headers must describe them. Otherwise they are dropped and the HTTP client re-frames the body.
   */
  readonly keepTransferFraming?: boolean;
  /** Ask the backend to switch to this protocol: appends `Upgrade: <value>` and `Connection: Upgrade`. */
  readonly upgrade?: string;
}

/** What String.prototype.trim removes (WhiteSpace and LineTerminator), by code unit. */
function isTrimmed(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** Whether value[a, b) names a header that is not hop-by-hop anyway (letter case ignored, ASCII). */
function namesEndToEndAt(value: string, a: number, b: number): boolean {
  if (b === a) return false;
  for (const name of HOP_BY_HOP) if (isTokenAt(value, a, b, name)) return false;
  return true;
}

/**
 * Lower-cased names of the headers listed in the message's Connection header(s), leaving out hop-by-hop
 * names (dropped whether listed or not). The usual `keep-alive` or `Upgrade` is only scanned: a list is
 * split into strings when it names some other header.
 */
function connectionNominated(rawHeaders: readonly string[]): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!isHeaderName(rawHeaders[i]!, 'connection')) continue;
    const value = rawHeaders[i + 1]!;
    if (!scanList(value, isTrimmed, namesEndToEndAt, '')) continue;
    for (const t of tokenList(value)) if (!HOP_BY_HOP.has(t)) (names ??= new Set()).add(t);
  }
  return names;
}

function hasHeader(rawHeaders: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) if (isHeaderName(rawHeaders[i]!, lowerName)) return true;
  return false;
}

function appendValue(existing: string, value: string): string {
  return existing.trim() === '' ? value : `${existing}, ${value}`;
}

/**
 * The header list to send to the backend, from the client's raw headers: order and spelling kept;
 * hop-by-hop headers and every header the client's Connection names dropped (never Host or Content-Length,
 * whose removal would change the request's meaning or framing); Host set once; X-Forwarded-* appended.
 * With Transfer-Encoding present and not kept, Content-Length is dropped too (RFC 9112 §6.3).
 */
export function forwardRequestHeaders(rawHeaders: readonly string[], opts: ForwardRequestOptions): string[] {
  const nominated = connectionNominated(rawHeaders);
  const keepFraming = opts.keepTransferFraming === true;
  const dropLength = !keepFraming && hasHeader(rawHeaders, 'transfer-encoding');
  const hostValue = opts.preserveHost && opts.host !== undefined ? opts.host : opts.backendHostHeader;
  const fwd = opts.forwardedHeaders;
  const out: string[] = [];
  let hostSeen = false;
  // Output index of the last X-Forwarded-For/-Host/-Server line kept: we append to it.
  let xff = -1;
  let xfh = -1;
  let xfs = -1;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const key = name.toLowerCase();
    if (key === 'host') {
      // A second Host line is dropped: one request must name one host.
      if (!hostSeen) out.push(name, hostValue);
      hostSeen = true;
      continue;
    }
    if (key === 'content-length') {
      if (!dropLength) out.push(name, value);
      continue;
    }
    if (keepFraming && (key === 'transfer-encoding' || key === 'trailer')) {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(key) || nominated?.has(key) === true) continue;
    if (fwd) {
      if (key === 'x-forwarded-proto') continue; // set below; the client's claim is not trusted
      if (key === 'x-forwarded-for') {
        if (opts.replaceForwardedFor === true) continue; // set below from the hops we trust
        xff = out.length;
      }
      else if (key === 'x-forwarded-host') xfh = out.length;
      else if (key === 'x-forwarded-server') xfs = out.length;
    }
    out.push(name, value);
  }
  if (!hostSeen) out.unshift('Host', hostValue);
  if (fwd) {
    if (!hostSeen) {
      // unshift moved every kept line two places on.
      if (xff !== -1) xff += 2;
      if (xfh !== -1) xfh += 2;
      if (xfs !== -1) xfs += 2;
    }
    if (xff === -1) out.push('X-Forwarded-For', opts.clientIp);
    else out[xff + 1] = appendValue(out[xff + 1]!, opts.clientIp);
    if (opts.host !== undefined) {
      if (xfh === -1) out.push('X-Forwarded-Host', opts.host);
      else out[xfh + 1] = appendValue(out[xfh + 1]!, opts.host);
    }
    if (xfs === -1) out.push('X-Forwarded-Server', opts.serverName);
    else out[xfs + 1] = appendValue(out[xfs + 1]!, opts.serverName);
    out.push('X-Forwarded-Proto', opts.clientProto);
  }
  if (opts.upgrade !== undefined) out.push('Upgrade', opts.upgrade, 'Connection', 'Upgrade');
  return out;
}

/**
 * The header list to relay a backend response to the client: hop-by-hop headers and those the response's
 * Connection names dropped (Content-Length kept, unless Transfer-Encoding is also present or
 * `dropContentLength` is set); the caller re-frames the body. `upgrade` (for relaying a 101) appends
 * `Connection: Upgrade` and `Upgrade: <value>`, in the order Apache httpd writes them.
 */
export function forwardResponseHeaders(
  rawHeaders: readonly string[],
  opts?: { readonly upgrade?: string; readonly dropContentLength?: boolean },
): string[] {
  const nominated = connectionNominated(rawHeaders);
  const dropLength = opts?.dropContentLength === true || hasHeader(rawHeaders, 'transfer-encoding');
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const key = name.toLowerCase();
    if (key === 'content-length') {
      if (!dropLength) out.push(name, rawHeaders[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(key) || nominated?.has(key) === true) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  if (opts?.upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', opts.upgrade);
  return out;
}

const TARGET = /^[\x21-\x7e]+$/;

function headerLines(rawHeaders: readonly string[]): string {
  if (rawHeaders.length % 2 !== 0) throw new TypeError('raw header list has an odd number of entries');
  let out = '';
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (!FIELD_TEXT.test(value)) throw new TypeError(`invalid character in the value of header "${name}"`);
    out += `${name}: ${value}\r\n`;
  }
  return out + '\r\n';
}

/**
 * `METHOD target HTTP/1.1`, the headers and the blank line, as latin1 bytes (what node:http reads headers
 * as). Throws a TypeError on anything that could split the head: CR, LF or other controls anywhere.
 */
export function serializeRequestHead(method: string, target: string, rawHeaders: readonly string[]): Buffer {
  if (!TOKEN.test(method)) throw new TypeError(`invalid method ${JSON.stringify(method)}`);
  if (!TARGET.test(target)) throw new TypeError(`invalid request target ${JSON.stringify(target)}`);
  return Buffer.from(`${method} ${target} HTTP/1.1\r\n${headerLines(rawHeaders)}`, 'latin1');
}

/** `HTTP/1.1 code message`, the headers and the blank line, as latin1 bytes; validated like the request. */
export function serializeResponseHead(statusCode: number, statusMessage: string, rawHeaders: readonly string[]): Buffer {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) {
    throw new TypeError(`invalid status code ${statusCode}`);
  }
  if (!FIELD_TEXT.test(statusMessage)) throw new TypeError('invalid character in the status message');
  return Buffer.from(`HTTP/1.1 ${statusCode} ${statusMessage}\r\n${headerLines(rawHeaders)}`, 'latin1');
}

/** Fields node:http keeps the first of when repeated (its matchKnownFields); set-cookie is a list, cookie joins with '; '. */
const FIRST_WINS: ReadonlySet<string> = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** `headers` as node:http builds it from `rawHeaders`. */
export function headersOf(rawHeaders: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    const prior = headers[name];
    if (prior === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prior as string[]).push(value);
    else if (FIRST_WINS.has(name)) continue;
    else headers[name] = `${prior as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return headers;
}
