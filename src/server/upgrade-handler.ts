// One upgrade request, from node:http's 'upgrade' event to a running byte tunnel:
//
//   client ──head──▶ connect backend ──▶ send head + body ──▶ 101 ? relay 101, start ByteTunnel
//                                                          └▶ other status: relay it, give the socket back to node:http
//
// While the backend decides, UpgradeRequestReader reads the client: the request body goes to the backend
// with the request, bytes after the end of the message are held (the first tunnel bytes after a 101, the
// next request after any other answer), and a client FIN is passed on once the request is sent.
//
// A client the native front took is a HeldClient (src/tunnel/held-client.ts): an fd, no net.Socket. Its
// request has no body, so it is not read at all before the tunnel (bytes it sends early wait in the
// kernel) and not watched either: as Apache, a client that left is found by the tunnel, which then closes
// both sides. A 101 on the native engine goes out with the tunnel's first bytes; every other way (a refusal,
// a failure, another answer, the JavaScript engine) converts it to a socket first (socketOf).
//
// A balancer route picks a member per request. A failed connect or handshake puts that member in error
// (retryMs, every thread) and the next usable member is tried, up to maxAttempts, when nothing has reached
// the client yet and the whole request can be sent again (its body, if any, fits the replay buffer). No usable member left
// → 503 WSP_NO_MEMBER with Retry-After. A non-101 answer is an answer, not a failure: it is relayed.
//
// Limits (limits/tunnel-admission.ts) are checked before anything is read or connected: the ticket they
// give holds the tunnel's counts from then on, and is released when the tunnel closes or, if it never
// starts, when this handler ends, whichever way.
import { isIP, type Socket } from 'node:net';
import { balanceFacts } from '../balancer/request-facts.js';
import { clientAddress, forwardedFor } from '../http/client-address.js';
import { proxyHeaderFor } from '../http/proxy-header-out.js';
import type { BalanceFacts, BalancerMember } from '../balancer/types.js';
import { ERRORS, WspassError, type ErrorCode } from '../errors.js';
import { endSocketWithError } from '../http/error-response.js';
import { isHeaderName } from '../http/header-name.js';
import { forwardRequestHeaders, hasToken, withoutHeader } from '../http/headers.js';
import { requestFraming } from '../http/request-framing.js';
import type { RequestView } from '../http/request-view.js';
import { answerRewrite } from '../http/reverse-headers.js';
import { switchResponseHead } from '../http/switch-response.js';
import type { Logger } from '../log.js';
import type { RateLimitedLog } from '../log/rate-limited.js';
import { BACKEND_NON_101, CLIENT_GONE, SUCCESS, outcomeOfCode } from '../metrics/handshake-outcome.js';
import { requestHost } from '../routing/normalize-path.js';
import type { CompiledRoute } from '../routing/types.js';
import { connectBackend } from '../tunnel/backend-connect.js';
import { backendHandshake, requestHeadBytes, type HandshakeRequest, type HandshakeResult } from '../tunnel/backend-handshake.js';
import type { NativeAddon } from '../tunnel/native-addon.js';
import { legAddress } from '../tunnel/leg-address.js';
import { connectLeg, connectTimeout, type BackendLeg } from '../tunnel/native-backend-leg.js';
import { HeldClient } from '../tunnel/held-client.js';
import { ReleasedLeg } from '../tunnel/released-leg.js';
import { JS_ENGINE, openTunnel, type TunnelEngine } from '../tunnel/tunnel-engine.js';
import type { TunnelCloseInfo, TunnelCloser } from '../tunnel/tunnel.js';
import { ADMIT_BUSY, admitWhenFree, isRefusal, type TunnelAdmission, type TunnelTicket } from '../limits/tunnel-admission.js';
import { OpenTunnel } from './open-tunnels.js';
import { relayResponse } from './response-relay.js';
import type { UpgradeDecision } from './upgrade-decision.js';
import type { HandshakesInFlight, InFlight } from './handshakes-in-flight.js';
import { UpgradeRequestReader } from './upgrade-request-reader.js';

/** Request body kept for a retry on another balancer member (Apache prefetches 16 KiB the same way). */
const REPLAY_BODY_BYTES = 16 * 1024;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export interface UpgradeContext {
  readonly log: Logger;
  readonly serverName: string;
  readonly maxHeaderBytes: number;
  readonly clientProto: 'http' | 'https';
  /** Hands a socket back to node:http so it parses the next request on it. */
  reinject(socket: Socket): void;
  /**
   * A tunnel started (after the 101 was relayed): the server numbers its record (`id`) and keeps it for
   * shutdown, metrics, listings and the access log.
   */
  onTunnelOpen(record: OpenTunnel): void;
  /** A tunnel ended (its ticket is given back and its balancer member told already). */
  onTunnelClose(info: TunnelCloseInfo, record: OpenTunnel): void;
  /** The handshake ended (101 relayed, another answer relayed, or a failure), `seconds` after the request. */
  onHandshake?(outcome: string, seconds: number): void;
  /** Error lines by code, thinned during storms; written directly when absent. */
  readonly errorLog?: RateLimitedLog;
  /** The engine new tunnels run on (JavaScript when absent). */
  tunnelEngine?(): TunnelEngine;
  /** Called for every error answered to a client on the upgrade path. */
  onError?(code: ErrorCode, routeName: string): void;
  /** The tunnel limits of the running config (none when absent). */
  admission?(): TunnelAdmission;
  /**
   * The handshakes in flight (admitted, no tunnel yet), kept by the server: its destroy() ends them, and
   * its drain waits for them (a tunnel they open is closed by the drain too).
   */
  readonly handshakes?: HandshakesInFlight;
}

function toCode(err: unknown): ErrorCode {
  return err instanceof WspassError ? err.code : 'WSP_BACKEND_BAD_RESPONSE';
}

/** Failures of the connect or the handshake that say the member is unwell (not the client's fault). */
const MEMBER_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'WSP_BACKEND_REFUSED',
  'WSP_CONNECT_TIMEOUT',
  'WSP_BACKEND_TLS',
  'WSP_BACKEND_BAD_RESPONSE',
  'WSP_HANDSHAKE_TIMEOUT',
]);

/** The client: a socket, or the native front's held fd. */
type Client = Socket | HeldClient;

/** The client as a socket, converting a held one (the paths that write to it from JavaScript). */
function socketOf(client: Client): Socket {
  return client instanceof HeldClient ? client.toSocket() : client;
}

/**
 * The client closed (a socket's 'close' sets held.clientGone) or was destroyed here (a held client: its peer
 * is not watched, but the server's destroy() is seen).
 */
function gone(client: Client, held: Held): boolean {
  return held.clientGone || (client instanceof HeldClient && client.destroyed);
}

/** Calls `fn` when a socket client closes, or when a held one is destroyed here (its peer is not watched); returns the unwatch. */
function watchClose(client: Client, fn: () => void): () => void {
  if (client instanceof HeldClient) return client.whenDestroyed(fn);
  client.once('close', fn);
  return () => client.removeListener('close', fn);
}

/** What runUpgrade asks of the client's reader. */
type RequestReader = Pick<UpgradeRequestReader, 'bodyComplete' | 'replayable' | 'clientEnded' | 'attach' | 'detach' | 'finish'>;

/** A held client's reader: no body to send, nothing read early (it waits in the kernel), no FIN seen. */
const HELD_READER: RequestReader = {
  bodyComplete: true,
  replayable: true,
  clientEnded: false,
  attach: ignore,
  detach: ignore,
  finish: () => undefined,
};

/** The backend's answer: a 101 carried on by a socket, or by a native leg's fd. */
type Answer = HandshakeResult<Socket | ReleasedLeg>;

/** Where one attempt goes: the route itself, or the route aimed at one balancer member. */
interface Target {
  readonly route: CompiledRoute;
  readonly path: string;
  readonly member: BalancerMember | undefined;
  readonly setCookie: string | undefined;
}

type Attempt =
  | { readonly kind: 'answered'; readonly result: Answer }
  | { readonly kind: 'bad-body'; readonly reason: string }
  | { readonly kind: 'failed'; readonly code: ErrorCode; readonly err: unknown }
  | { readonly kind: 'client-gone' };

/**
 * One upgrade's state: what a throw in runUpgrade must clean up (the backend's answer, whether the client
 * got bytes) and what the attempts read (kept in fields rather than closures: one object per upgrade).
 */
interface Held extends InFlight {
  result: Answer | undefined;
  written: boolean;
  /** Reads the client until the answer: its listeners must go with it. */
  reader: RequestReader | undefined;
  /** The limit counts this upgrade holds; given to the tunnel once it runs (undefined then). */
  ticket: TunnelTicket | undefined;
  /** How the handshake ended (the handshake histogram's label). */
  outcome: string | undefined;
  /** When the backend's answer came (performance.now()): relaying a non-101 answer is not handshake time. */
  answeredAt: number | undefined;
  /** The client closed or failed before the tunnel started. */
  clientGone: boolean;
  /** Why the request body cannot be completed (set by the reader), if it cannot. */
  bodyError: string | undefined;
  /** The backend the current attempt writes the body to (destroyed when the body turns out bad). */
  backendInUse: Socket | undefined;
}

/**
 * Runs one upgrade. Exception-safe: whatever throws, the backend socket is destroyed (a switched one has
 * no 'error' listener until the tunnel takes it, so a later reset would crash the process), and the client
 * gets a 502 if nothing was written to it yet, or is closed.
 */
export async function handleUpgrade(
  ctx: UpgradeContext,
  req: RequestView,
  client: Client,
  head: Buffer,
  decision: Extract<UpgradeDecision, { tunnel: true }>,
): Promise<void> {
  const started = performance.now();
  const admission = ctx.admission?.();
  // Read once: limits, balancer, tunnel listing and access log all name the same client.
  const clientIp = clientAddress(req);
  const held: Held = {
    client,
    prevInFlight: undefined,
    nextInFlight: undefined,
    result: undefined,
    written: false,
    reader: undefined,
    ticket: undefined,
    outcome: undefined,
    answeredAt: undefined,
    clientGone: false,
    bodyError: undefined,
    backendInUse: undefined,
  };
  // In flight from here: a wait for a busy client table below is one too (destroy() ends it, a drain waits).
  ctx.handshakes?.add(held);
  let admitted = admission?.admit(decision.match.route.name, clientIp, originOf(req));
  if (admitted === ADMIT_BUSY) {
    // Another thread held the client table (rare: preempted mid-update): ask again without blocking the loop.
    admitted = await admitWhenFree(admission!, decision.match.route.name, clientIp, originOf(req));
    if (client.destroyed) {
      // Destroyed meanwhile (the server's destroy(), or a client error): the handshake ends here.
      if (!isRefusal(admitted)) admitted.release();
      ctx.handshakes?.delete(held);
      ctx.onHandshake?.(CLIENT_GONE, (performance.now() - started) / 1000);
      return;
    }
  }
  if (admitted !== undefined && isRefusal(admitted)) {
    ctx.handshakes?.delete(held);
    const { code, retryAfterS } = admitted;
    logError(ctx, ctx.log, 'info', code, { route: decision.match.route.name, url: req.url, status: ERRORS[code].status, client: clientIp }, ERRORS[code].reason);
    ctx.onError?.(code, decision.match.route.name);
    ctx.onHandshake?.(outcomeOfCode(code), (performance.now() - started) / 1000);
    endSocketWithError(socketOf(client), code, retryAfterS);
    return;
  }
  held.ticket = admitted;
  try {
    await runUpgrade(ctx, req, client, head, decision, held, admission, clientIp);
  } catch (err) {
    held.outcome ??= outcomeOfCode('WSP_BACKEND_BAD_RESPONSE');
    ctx.log.error({ route: decision.match.route.name, url: req.url, err: err instanceof Error ? err.stack : String(err) }, 'upgrade handler failed');
    held.reader?.finish();
    const result = held.result;
    if (result?.kind === 'switched') {
      if (!(result.socket instanceof ReleasedLeg)) result.socket.on('error', ignore);
      result.socket.destroy();
    } else {
      result?.response.destroy();
    }
    if (!(client instanceof HeldClient) && client.listenerCount('error') === 0) client.on('error', ignore);
    if (held.written) {
      client.destroy();
    } else {
      ctx.onError?.('WSP_BACKEND_BAD_RESPONSE', decision.match.route.name);
      endSocketWithError(socketOf(client), 'WSP_BACKEND_BAD_RESPONSE');
    }
  } finally {
    ctx.handshakes?.delete(held);
    // No tunnel took the ticket: the handshake ended here (refused, failed, answered without 101, threw).
    held.ticket?.release();
    ctx.onHandshake?.(held.outcome ?? CLIENT_GONE, ((held.answeredAt ?? performance.now()) - started) / 1000);
  }
}

function ignore(): void {}

function originOf(req: RequestView): string | undefined {
  const v: string | string[] | undefined = req.headers.origin;
  return typeof v === 'string' ? v : v?.[0];
}

/** An error line, through the storm limiter when the server has one. */
function logError(ctx: UpgradeContext, log: Logger, level: 'info' | 'warn', code: ErrorCode, fields: Record<string, unknown>, msg: string): void {
  if (ctx.errorLog !== undefined) ctx.errorLog.write(log, level, code, fields, msg);
  else log[level]({ code, ...fields }, msg);
}

/** The first value of response header `name` (lower case) in a flat raw header list. */
function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (isHeaderName(rawHeaders[i]!, name)) return rawHeaders[i + 1];
  return undefined;
}

async function runUpgrade(
  ctx: UpgradeContext,
  req: RequestView,
  client: Client,
  head: Buffer,
  decision: Extract<UpgradeDecision, { tunnel: true }>,
  held: Held,
  admission: TunnelAdmission | undefined,
  clientIp: string,
): Promise<void> {
  const { route, backendPath } = decision.match;
  // The request's logger is made for the first line it writes: most upgrades write none.
  let requestLog: Logger | undefined;
  const log = (): Logger => (requestLog ??= ctx.log.child({ route: route.name, url: req.url }));
  // One listener for 'error' and 'close': either way the client is gone.
  const onClientGone = (err?: unknown) => {
    held.clientGone = true;
    if (err instanceof Error && ctx.log.isLevelEnabled('debug')) log().debug({ err: err.message }, 'client error before the tunnel started');
  };
  // The body goes with the request; what follows the message waits for the backend's answer.
  const framing = requestFraming(req.rawHeaders);
  let reader = HELD_READER;
  if (!(client instanceof HeldClient)) {
    client.on('error', onClientGone);
    client.once('close', onClientGone);
    reader = new UpgradeRequestReader(client, head, framing, {
      replayBytes: REPLAY_BODY_BYTES,
      earlyBytes: route.highWaterMarkBytes,
      onBodyError: (reason) => {
        held.bodyError = reason;
        held.backendInUse?.destroy();
      },
    });
    // The client waits for our word before sending its body; the backend's final answer comes after it.
    if (framing.kind !== 'none' && hasToken(req.headers.expect, '100-continue')) client.write(CONTINUE);
  }
  held.reader = reader;

  const fail = (code: ErrorCode, err?: unknown, retryAfterS?: number) => {
    const level = ERRORS[code].status >= 500 ? 'warn' : 'info';
    held.outcome = outcomeOfCode(code);
    logError(ctx, log(), level, code, { status: ERRORS[code].status, err: err instanceof Error ? err.message : undefined }, ERRORS[code].reason);
    ctx.onError?.(code, route.name);
    reader.finish();
    endSocketWithError(socketOf(client), code, retryAfterS);
  };

  const lb = route.balancer;
  let facts: BalanceFacts | undefined;
  const tried = new Set<number>();
  /** Members passed over because they hold their maxTunnels (not a failure: not marked, not an attempt). */
  const full = new Set<number>();
  let target: Target;
  let result: Answer;
  for (;;) {
    if (lb === undefined) {
      target = { route, path: backendPath, member: undefined, setCookie: undefined };
    } else {
      facts ??= balanceFacts(req, clientIp);
      const pick = lb.balancer.pick(facts, full.size === 0 ? tried : new Set([...tried, ...full]));
      if (pick === undefined) {
        if (full.size > 0) fail('WSP_LIMIT_MEMBER', undefined, admission?.retryAfterS);
        else fail('WSP_NO_MEMBER', undefined, lb.balancer.retryAfterS());
        return;
      }
      if (admission !== undefined && held.ticket !== undefined && !admission.reserveMember(held.ticket, lb.balancer.name, pick.member.url)) {
        full.add(pick.member.index);
        continue;
      }
      target = {
        route: lb.targets[pick.member.index]!.route,
        path: pick.member.pathPrefix + backendPath,
        member: pick.member,
        setCookie: pick.setCookie,
      };
    }
    const attempt = await attemptBackend(ctx, req, client, target, decision.protocol, held, reader, framing.kind === 'none');
    if (attempt.kind === 'client-gone') {
      reader.finish();
      return;
    }
    if (attempt.kind === 'bad-body') {
      fail('WSP_BAD_REQUEST', new Error(attempt.reason));
      return;
    }
    if (attempt.kind === 'answered') {
      result = attempt.result;
      break;
    }
    if (lb !== undefined && target.member !== undefined && MEMBER_FAILURES.has(attempt.code) && reader.replayable) {
      lb.balancer.markFailed(target.member);
      tried.add(target.member.index);
      logError(
        ctx,
        log(),
        'warn',
        attempt.code,
        { member: target.member.url, err: attempt.err instanceof Error ? attempt.err.message : undefined },
        'balancer member failed; left out for retryMs',
      );
      if (tried.size < lb.balancer.maxAttempts) continue;
    }
    fail(attempt.code, attempt.err);
    return;
  }
  held.result = result;
  const early = reader.finish();
  // A held client was not watched during the handshake: one look at it now.
  const heldPeer = client instanceof HeldClient ? client.peer() : undefined;
  if (heldPeer === 'gone') held.clientGone = true;
  // ProxyPassReverse applies to whatever the backend answered, 101 or not.
  const rewrite = answerRewrite(route.reverse, ctx.clientProto, requestHost(req.url, req.headers.host), client instanceof HeldClient ? req.socket : client);
  if (held.clientGone) {
    if (result.kind === 'switched') result.socket.destroy();
    else result.response.destroy();
    // A socket client closed itself; a held one's fd is still this side's.
    if (client instanceof HeldClient) client.destroy();
    return;
  }

  if (result.kind === 'response') {
    // Not switching: relay the answer as an ordinary response. The connection stays usable unless the client
    // already half-closed it; bytes it sent after the request are parsed as its next request (as Apache does).
    const reusable = !reader.clientEnded && heldPeer !== 'ended' && reader.bodyComplete;
    const socket = socketOf(client);
    held.outcome = BACKEND_NON_101;
    held.answeredAt = performance.now();
    log().info({ status: result.response.statusCode, member: target.member?.url }, 'backend declined the upgrade');
    const relayed = relayResponse(socket, result.response, {
      method: req.method ?? 'GET',
      keepAlive: reusable,
      policy: route.upgrade,
      extra: target.setCookie !== undefined ? ['Set-Cookie', target.setCookie] : undefined,
      rewrite,
    });
    held.written = true;
    const whole = await relayed;
    if (!whole) log().warn({ status: result.response.statusCode, member: target.member?.url }, 'backend answer ended early');
    socket.removeListener('error', onClientGone);
    socket.removeListener('close', onClientGone);
    if (whole && reusable && !socket.destroyed && socket.writable) {
      if (early !== undefined) socket.unshift(early);
      ctx.reinject(socket);
      socket.resume();
    } else socket.destroySoon?.();
    return;
  }

  // checkSwitch (switch-response.ts) accepted this 101 in the handshake. Its bytes are built before the
  // client's listeners go, so a refusal cannot come after the client was left without one.
  const head101 = switchResponseHead(result, result.upgrade, target.setCookie !== undefined ? ['Set-Cookie', target.setCookie] : [], rewrite);
  held.written = true;
  held.outcome = SUCCESS;
  // A held client gets its 101 from the tunnel, before the tunnel's own bytes (as keep-alive, set there).
  if (client instanceof HeldClient) client.switched(head101);
  else {
    client.removeListener('error', onClientGone);
    client.removeListener('close', onClientGone);
    client.setNoDelay(true);
    client.setKeepAlive(true, 30_000);
    client.write(head101);
  }
  const record = new OpenTunnel(
    route,
    target.member,
    clientIp,
    req.url ?? '',
    shared(result.upgrade),
    shared(headerValue(result.rawHeaders, 'sec-websocket-protocol')),
    held.ticket,
  );
  const websocket = result.upgrade.split('/')[0]!.trim().toLowerCase() === 'websocket';
  startTunnel(ctx, record, client, result.socket, { early, clientEnded: reader.clientEnded, websocket }, result.head);
  // The tunnel runs: its close releases the ticket from now on.
  held.ticket = undefined;
}

/** Header values most tunnels repeat (the Upgrade token, subprotocols): one copy each, not one per tunnel. */
const sharedValues = new Map<string, string>();
const SHARED_VALUES_MAX = 64;

function shared<T extends string | undefined>(value: T): T {
  if (value === undefined) return value;
  const known = sharedValues.get(value);
  if (known !== undefined) return known as T;
  if (sharedValues.size < SHARED_VALUES_MAX) sharedValues.set(value, value);
  return value;
}

/** Each context's tunnel closer: one object for all its tunnels, the record carries what a close needs. */
const closers = new WeakMap<UpgradeContext, TunnelCloser<OpenTunnel>>();

function closerOf(ctx: UpgradeContext): TunnelCloser<OpenTunnel> {
  let closer = closers.get(ctx);
  if (closer === undefined) {
    closer = {
      tunnelClosed(record, info) {
        record.ticket?.release();
        const member = record.balancerMember;
        if (member !== undefined) record.compiledRoute.balancer?.balancer.tunnelClosed(member, info.bytesToBackend + info.bytesToClient);
        // The server writes the access log line (`tunnel closed`): it knows whether a drain closed it.
        ctx.onTunnelClose(info, record);
      },
    };
    closers.set(ctx, closer);
  }
  return closer;
}

/**
 * Runs the tunnel. Kept apart from handleUpgrade so that what a long-lived tunnel holds on to is only its
 * record (no request, header arrays, per-request logger or closure stay reachable for hours).
 */
function startTunnel(
  ctx: UpgradeContext,
  record: OpenTunnel,
  client: Client,
  upgraded: Socket | ReleasedLeg,
  clientSide: { readonly early: Buffer | undefined; readonly clientEnded: boolean; readonly websocket: boolean },
  backendHead: Buffer,
): void {
  const route = record.compiledRoute;
  const member = record.balancerMember;
  if (member !== undefined) route.balancer?.balancer.tunnelOpened(member);
  record.tunnel = openTunnel(
    ctx.tunnelEngine?.() ?? JS_ENGINE,
    client,
    upgraded,
    {
      idleTimeoutMs: route.idleTimeoutMs,
      highWaterMarkBytes: route.highWaterMarkBytes,
      async: route.async,
      asyncDelayMs: route.asyncDelayMs,
      // WebSocket frames are followed so a drain can close at a frame boundary; other protocols get a FIN.
      websocket: clientSide.websocket,
    },
    {
      toBackend: clientSide.early,
      toClient: backendHead.length > 0 ? backendHead : undefined,
      // The client's FIN already went to the backend with the request: that direction is done.
      clientEnded: clientSide.clientEnded,
    },
    closerOf(ctx),
    record,
  );
  ctx.onTunnelOpen(record);
}

/**
 * Connects to the target and sends the upgrade request; resolves with the backend's answer, the failure's
 * code, or client-gone. Nothing is written to the client here, so a failed attempt can be retried.
 */
async function attemptBackend(
  ctx: UpgradeContext,
  req: RequestView,
  client: Client,
  target: Target,
  protocol: string,
  held: Held,
  reader: RequestReader,
  bodyless: boolean,
): Promise<Attempt> {
  const route = target.route;
  const xff = forwardedFor(req);
  // `Expect: 100-continue` was answered here (or needs no answer): it is not passed on.
  const rawHeaders = forwardRequestHeaders(withoutHeader(req.rawHeaders, 'expect'), {
    host: requestHost(req.url, req.headers.host),
    backendHostHeader: route.backend.hostHeader,
    preserveHost: route.preserveHost,
    forwardedHeaders: route.forwardedHeaders,
    clientIp: xff.value,
    replaceForwardedFor: xff.replace,
    serverName: route.serverName ?? ctx.serverName,
    clientProto: ctx.clientProto,
    keepTransferFraming: true,
    upgrade: protocol,
  });

  const request = { method: req.method ?? 'GET', path: target.path, rawHeaders };
  const addon = bodyless ? legAddon(ctx, route) : undefined;
  const head = addon !== undefined ? legRequest(request, route.proxyProtocol === 'v2' ? proxyHeaderFor(req) : undefined) : undefined;
  if (addon !== undefined && head !== undefined) {
    const { hostname } = route.backend;
    if (isIP(hostname) !== 0) return attemptLeg(addon, client, route, request, head, held, reader, ctx.maxHeaderBytes, { address: hostname, timeoutMs: route.connectTimeoutMs });
    const started = performance.now();
    const found = await legAddress(hostname, route.connectTimeoutMs);
    if (found.kind === 'timeout') {
      return gone(client, held) ? { kind: 'client-gone' } : { kind: 'failed', code: 'WSP_CONNECT_TIMEOUT', err: connectTimeout(route.backend, route.connectTimeoutMs) };
    }
    if (found.kind === 'address') {
      // What the lookup took comes off the connect timeout, as inside net.connect.
      const left = route.connectTimeoutMs > 0 ? Math.max(1, Math.round(route.connectTimeoutMs - (performance.now() - started))) : 0;
      return attemptLeg(addon, client, route, request, head, held, reader, ctx.maxHeaderBytes, { address: found.address, timeoutMs: left });
    }
  }

  let backend: Socket;
  try {
    backend = await connectBackend(route.backend, {
      connectTimeoutMs: route.connectTimeoutMs,
      tls: route.tls,
      proxyHeader: route.proxyProtocol === 'v2' ? proxyHeaderFor(req) : undefined,
    });
  } catch (err) {
    return gone(client, held) ? { kind: 'client-gone' } : { kind: 'failed', code: toCode(err), err };
  }
  if (gone(client, held)) {
    backend.destroy();
    return { kind: 'client-gone' };
  }
  const badBody = held.bodyError;
  if (badBody !== undefined) {
    backend.destroy();
    return { kind: 'bad-body', reason: badBody };
  }
  const unwatch = watchClose(client, () => backend.destroy());
  try {
    // backendHandshake writes the request head before it returns; the body follows it.
    const answer = backendHandshake(backend, request, { handshakeTimeoutMs: route.handshakeTimeoutMs, maxHeaderBytes: ctx.maxHeaderBytes });
    held.backendInUse = backend;
    reader.attach(backend);
    const result = await answer;
    return { kind: 'answered', result };
  } catch (err) {
    backend.destroy();
    if (gone(client, held)) return { kind: 'client-gone' };
    const bad = held.bodyError;
    return bad !== undefined ? { kind: 'bad-body', reason: bad } : { kind: 'failed', code: toCode(err), err };
  } finally {
    reader.detach();
    held.backendInUse = undefined;
    unwatch();
  }
}

/**
 * The addon, when this attempt can go through a native backend leg (native-backend-leg.ts): the native
 * engine runs, the backend is plain TCP, and the request has no body (the caller checks that). A name
 * takes the leg when it resolves to one address (leg-address.ts).
 */
function legAddon(ctx: UpgradeContext, route: CompiledRoute): NativeAddon | undefined {
  const addon = ctx.tunnelEngine?.().addon;
  return addon === undefined || route.backend.secure ? undefined : addon;
}

/** The bytes a leg sends: the PROXY header, if any, then the head; undefined sends the attempt the JavaScript way (whose refusal of a bad head, after the connect, is the answer). */
function legRequest(request: HandshakeRequest, proxyHeader: Buffer | undefined): Buffer | undefined {
  let head: Buffer;
  try {
    head = requestHeadBytes(request);
  } catch {
    return undefined;
  }
  return proxyHeader !== undefined ? Buffer.concat([proxyHeader, head]) : head;
}

/** attemptBackend on a native backend leg: the same answers and failures, no JavaScript socket. */
async function attemptLeg(
  addon: NativeAddon,
  client: Client,
  route: CompiledRoute,
  request: HandshakeRequest,
  head: Buffer,
  held: Held,
  reader: RequestReader,
  maxHeaderBytes: number,
  dial: { readonly address: string; readonly timeoutMs: number },
): Promise<Attempt> {
  let leg: BackendLeg;
  try {
    leg = await connectLeg(addon, route.backend, head, dial.timeoutMs, dial.address);
  } catch (err) {
    return gone(client, held) ? { kind: 'client-gone' } : { kind: 'failed', code: toCode(err), err };
  }
  if (gone(client, held)) {
    leg.destroy();
    return { kind: 'client-gone' };
  }
  const unwatch = watchClose(client, () => leg.destroy());
  try {
    const answer = leg.answer(request, { handshakeTimeoutMs: route.handshakeTimeoutMs, maxHeaderBytes });
    reader.attach(leg);
    return { kind: 'answered', result: await answer };
  } catch (err) {
    leg.destroy();
    return gone(client, held) ? { kind: 'client-gone' } : { kind: 'failed', code: toCode(err), err };
  } finally {
    reader.detach();
    unwatch();
  }
}
