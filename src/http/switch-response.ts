// The rules for a backend's answer to an upgrade request, in one place: when a 101 is acceptable, what the
// client receives for it, and what a non-101 answer relayed on the upgrade path carries. Pure: it works on
// parsed heads and returns header lists and head bytes; the handshake and the relay only move bytes.
//
//   backend 101 ──checkSwitch──▶ refused: 502 (bad head, no Connection: upgrade, other protocol)
//                            └─▶ accepted ──switchResponseHead──▶ bytes for the client
//   other final answer ──declinedResponse──▶ head bytes + how its body is framed
//
// The 101 is rebuilt as Apache httpd does (ap_send_interim_response after hop-by-hop removal): the backend's
// status line as HTTP/1.1, its end-to-end headers, then `Connection: Upgrade` and `Upgrade: <its value>`;
// no Date or Server. A relayed non-101 answer gets a Date when it has none (RFC 9110 §6.6.1), like every
// response on the plain path, and keeps an Upgrade advertisement only for protocols the route would tunnel.
import type { ErrorCode } from '../errors.js';
import type { UpgradePolicy } from '../routing/types.js';
import { FIELD_TEXT, TOKEN } from './field-syntax.js';
import { forwardResponseHeaders, hasToken, rawHeaderValue, serializeResponseHead, upgradeProtocols } from './headers.js';

/** A parsed response head: the parser's result or node:http's IncomingMessage, as far as these rules go. */
export interface BackendHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** Flat [name, value, ...] list in received order and case. */
  readonly rawHeaders: readonly string[];
}

export type SwitchVerdict =
  | { readonly ok: true; /** The backend's Upgrade value, relayed as sent. */ readonly upgrade: string }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/** The first thing wrong with the head's bytes (a control character, a bad name), or undefined. */
export function invalidHeadReason(head: BackendHead): string | undefined {
  if (!FIELD_TEXT.test(head.statusMessage)) return 'control character in the reason phrase';
  const raw = head.rawHeaders;
  if (raw.length % 2 !== 0) return 'odd header list';
  for (let i = 0; i < raw.length; i += 2) {
    if (!TOKEN.test(raw[i]!)) return `invalid header name ${JSON.stringify(raw[i]!.slice(0, 60))}`;
    if (!FIELD_TEXT.test(raw[i + 1]!)) return `control character in the value of ${raw[i]!}`;
  }
  return undefined;
}

/**
 * Whether a backend 101 may become a tunnel. `requested` is the Upgrade value sent to the backend
 * (undefined when none was sent: a 101 is then never expected). The 101 must have a valid head, carry
 * `Connection: upgrade` (RFC 9110 §7.8) and switch to exactly the protocol asked for, compared by name
 * (`websocket` matches `WebSocket`; a version is not compared).
 */
export function checkSwitch(head: BackendHead, requested: string | undefined): SwitchVerdict {
  if (head.statusCode !== 101) return { ok: false, code: 'WSP_BACKEND_BAD_RESPONSE', reason: `status ${head.statusCode} is not 101` };
  const bad = invalidHeadReason(head);
  if (bad !== undefined) return { ok: false, code: 'WSP_BACKEND_BAD_RESPONSE', reason: `101 refused: ${bad}` };
  if (!hasToken(rawHeaderValue(head.rawHeaders, 'connection'), 'upgrade')) {
    return { ok: false, code: 'WSP_BACKEND_BAD_RESPONSE', reason: 'backend sent 101 without "Connection: upgrade"' };
  }
  const upgrade = rawHeaderValue(head.rawHeaders, 'upgrade');
  const want = upgradeProtocols(requested);
  const got = upgradeProtocols(upgrade);
  if (upgrade === undefined || want.length !== 1 || got.length !== 1 || got[0] !== want[0]) {
    return {
      ok: false,
      code: 'WSP_BACKEND_UPGRADE_MISMATCH',
      reason: `asked for ${requested ?? 'no upgrade'}, backend switched to ${upgrade ?? 'nothing'}`,
    };
  }
  return { ok: true, upgrade };
}

/**
 * The head the client receives for an accepted 101 (`upgrade` from checkSwitch): the backend's reason
 * phrase, its headers minus hop-by-hop ones, those its Connection names and any framing header (a 1xx has
 * no content, RFC 9110 §8.6), mapped by `rewrite` (the route's `reverse`), then `extra` (e.g. a
 * sticky-session cookie), then `Connection: Upgrade` and `Upgrade`. Throws a TypeError only on a head checkSwitch refuses or on invalid `extra`.
 */
export function switchResponseHead(
  head: Pick<BackendHead, 'statusMessage' | 'rawHeaders'>,
  upgrade: string,
  extra: readonly string[] = [],
  rewrite?: (headers: string[]) => void,
): Buffer {
  const headers = forwardResponseHeaders(head.rawHeaders, { upgrade, dropContentLength: true });
  // ProxyPassReverse applies to a 101 as to any answer (the rebuilt Connection and Upgrade are not URLs).
  rewrite?.(headers);
  // forwardResponseHeaders ends with the Connection and Upgrade pair; `extra` goes before it.
  headers.splice(headers.length - 4, 0, ...extra);
  return serializeResponseHead(101, head.statusMessage, headers);
}

/** How the relay frames the body of a declined answer. */
export type BodyFraming = 'none' | 'length' | 'chunked';

export interface DeclinedOptions {
  /** The request method (a HEAD answer has no body). */
  readonly method: string;
  /** The client connection stays open for another request afterwards; otherwise `Connection: close`. */
  readonly keepAlive: boolean;
  /** The route's upgrade policy: an Upgrade advertisement is kept only for protocols it tunnels. */
  readonly policy: UpgradePolicy;
  /** The time written in `Date` when the backend sent none. */
  readonly now: Date;
  /** Headers added after the backend's (e.g. a sticky-session cookie). */
  readonly extra?: readonly string[] | undefined;
  /** Maps the backend's headers back to the proxy (the route's `reverse`), before `extra` is added. */
  readonly rewrite?: ((headers: string[]) => void) | undefined;
}

export interface DeclinedResponse {
  /** Status line and headers for the client. */
  readonly head: Buffer;
  /**
   * `length`: the body is copied as is, the backend's Content-Length describing it; `chunked`: each piece
   * is sent as a chunk, then the last chunk with no trailer fields; `none`: nothing is sent.
   */
  readonly framing: BodyFraming;
}

function hasNoBody(method: string, status: number): boolean {
  return method.toUpperCase() === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** True when the route would tunnel a client asking for protocol `name`. */
function routeTunnels(policy: UpgradePolicy, name: string): boolean {
  // NONE tunnels every upgrade request whatever its protocol, as ANY does.
  return policy.kind !== 'list' || policy.protocols.includes(name);
}

/**
 * A backend's final non-101 answer as relayed to the client: its status line, its end-to-end headers
 * (hop-by-hop ones and those its Connection names dropped, then mapped by `rewrite`), `Date` added when absent, `Trailer` dropped
 * (the relay re-frames the body and forwards no trailer fields), the backend's `Upgrade` kept with
 * `Connection: Upgrade` only when the route tunnels every protocol it names (so a 426 tells the client what
 * to ask for, as Apache's worker check does), `extra`, then the framing headers and `Connection`.
 */
export function declinedResponse(head: BackendHead, opts: DeclinedOptions): DeclinedResponse {
  const headers = forwardResponseHeaders(head.rawHeaders);
  opts.rewrite?.(headers);
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i]!.toLowerCase() === 'trailer') headers.splice(i, 2);
  }
  if (rawHeaderValue(head.rawHeaders, 'date') === undefined) headers.push('Date', opts.now.toUTCString());
  if (opts.extra !== undefined) headers.push(...opts.extra);

  const framing: BodyFraming = hasNoBody(opts.method, head.statusCode)
    ? 'none'
    : rawHeaderValue(headers, 'content-length') !== undefined
      ? 'length'
      : 'chunked';
  if (framing === 'chunked') headers.push('Transfer-Encoding', 'chunked');

  const upgrade = rawHeaderValue(head.rawHeaders, 'upgrade');
  const protocols = upgradeProtocols(upgrade);
  const keepUpgrade = upgrade !== undefined && protocols.length > 0 && protocols.every((p) => routeTunnels(opts.policy, p));
  if (keepUpgrade) headers.push('Upgrade', upgrade);
  // HTTP/1.1 connections persist by default (the upgrade path serves only HTTP/1.1 clients), so with
  // Upgrade named the keep-alive token adds nothing.
  const connection = keepUpgrade ? (opts.keepAlive ? 'Upgrade' : 'Upgrade, close') : opts.keepAlive ? 'keep-alive' : 'close';
  headers.push('Connection', connection);
  return { head: serializeResponseHead(head.statusCode, head.statusMessage, headers), framing };
}
