// Proxies a request without Upgrade to its route's backend over pooled keep-alive connections (undici),
// streaming the body both ways with backpressure: Apache's mod_proxy_http fallback next to the tunnel.
//
//   client ─▶ node:http server ─▶ HttpProxy.handle ─▶ BackendPools (undici Pool) ─▶ backend
//             res.write() false ─▶ controller.pause()        res 'drain' ─▶ controller.resume()
//             req (Readable) is the request body undici reads, pausing it when the backend socket is full
//
// undici's `dispatch` is used directly, not `request`/`stream`: it hands over the raw response headers in
// order (duplicates and case kept), each body chunk as received, and a pause/resume controller, so nothing
// sits between the backend socket and the client's ServerResponse.
//
// A balancer route picks a member per request. A member that cannot be connected to is put in error
// (retryMs) and, when the request has no body (so nothing of it was consumed), the next member is tried,
// up to maxAttempts; an idempotent bodiless request whose response never started is retried too, without
// blaming the member (a pooled keep-alive socket the backend had just closed looks the same).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { balanceFacts } from '../balancer/request-facts.js';
import { ERRORS, type ErrorCode, WspassError } from '../errors.js';
import { requestHost } from '../routing/normalize-path.js';
import type { CompiledRoute, RouteBalancer, RouteMatch } from '../routing/types.js';
import { backendErrorCode } from './backend-error-code.js';
import { BackendPools } from './backend-pools.js';
import { clientAddress, forwardedFor } from './client-address.js';
import { proxyHeaderFor } from './proxy-header-out.js';
import { sendError } from './error-response.js';
import { requestHasBody } from './request-framing.js';
import { forwardRequestHeaders, forwardResponseHeaders, withoutHeader } from './headers.js';
import { answerRewrite } from './reverse-headers.js';

export interface HttpProxyOptions {
  /** Our own name, sent as X-Forwarded-Server. */
  readonly serverName: string;
  /** Pools shared with other users; when given, the caller closes them. Otherwise the proxy owns its own. */
  readonly pools?: BackendPools;
  /** Called once per failed exchange (client aborts included, as WSP_CLIENT_ERROR) so the caller can log. */
  readonly onError?: (code: ErrorCode, err: Error, req: IncomingMessage) => void;
}

/** The member could not be reached at all: it is put in error, and any bodiless request retried. */
const CONNECT_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['WSP_BACKEND_REFUSED', 'WSP_CONNECT_TIMEOUT', 'WSP_BACKEND_TLS']);
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What one attempt against a balancer member adds to an exchange. */
interface AttemptHooks {
  /** Set-Cookie value for the response (stickiness). */
  readonly setCookie: string | undefined;
  /** The attempt ended (response complete or failed), with the response bytes relayed. */
  done(bytes: number): void;
  /** The attempt failed before the response started: true when the failure was handled (retried, or answered). */
  retry(code: ErrorCode): boolean;
}

/** The balancer member (its URL) that a response came from, or was last tried (for the access log). */
export const servedBy = new WeakMap<ServerResponse, string>();

export class HttpProxy {
  readonly #serverName: string;
  readonly #pools: BackendPools;
  readonly #ownsPools: boolean;
  readonly #onError: HttpProxyOptions['onError'];
  #closed = false;

  constructor(opts: HttpProxyOptions) {
    this.#serverName = opts.serverName;
    this.#pools = opts.pools ?? new BackendPools();
    this.#ownsPools = opts.pools === undefined;
    this.#onError = opts.onError;
  }

  /**
   * Proxies one request. Never throws: every failure ends as an error response (before the response
   * started), a destroyed client connection (after), and a call to onError.
   *
   * Expect: 100-continue is left to node:http, which answers 100 itself before emitting 'request' unless
   * the server has a 'checkContinue' listener (then that listener must call res.writeContinue()). The
   * header is not forwarded: undici cannot send it, and the client already has its 100.
   */
  handle(req: IncomingMessage, res: ServerResponse, match: RouteMatch, clientProto: 'http' | 'https'): void {
    // ProxyPassReverse: the route's map, with this request's public origin.
    const rewrite = answerRewrite(match.route.reverse, clientProto, requestHost(req.url, req.headers.host), req.socket);
    const exchange = new Exchange(req, res, this.#onError, rewrite);
    if (this.#closed) {
      exchange.onResponseError(undefined, new WspassError('WSP_SHUTTING_DOWN'));
      return;
    }
    const lb = match.route.balancer;
    if (lb === undefined) this.#dispatch(exchange, req, match.route, match.backendPath, clientProto);
    else this.#balanced(exchange, req, res, match, lb, clientProto);
  }

  /** One request over a balancer: pick, dispatch, and on an early failure pick again (see the top). */
  #balanced(exchange: Exchange, req: IncomingMessage, res: ServerResponse, match: RouteMatch, lb: RouteBalancer, clientProto: 'http' | 'https'): void {
    const facts = balanceFacts(req, clientAddress(req));
    const tried = new Set<number>();
    const bodyless = !hasBody(req);
    const idempotent = IDEMPOTENT.has(req.method ?? 'GET');
    const attempt = (): void => {
      const pick = lb.balancer.pick(facts, tried);
      if (pick === undefined) {
        exchange.answer('WSP_NO_MEMBER', lb.balancer.retryAfterS());
        return;
      }
      const member = pick.member;
      servedBy.set(res, member.url);
      lb.balancer.requestStarted(member);
      exchange.setAttempt({
        setCookie: pick.setCookie,
        done: (bytes) => lb.balancer.requestEnded(member, bytes),
        retry: (code) => {
          const unreachable = CONNECT_FAILURES.has(code);
          if (unreachable) lb.balancer.markFailed(member);
          const retryable = bodyless && (unreachable || (idempotent && code === 'WSP_BACKEND_BAD_RESPONSE'));
          tried.add(member.index);
          if (!retryable || tried.size >= lb.balancer.maxAttempts) return false;
          attempt();
          return true;
        },
      });
      this.#dispatch(exchange, req, lb.targets[member.index]!.route, member.pathPrefix + match.backendPath, clientProto);
    };
    attempt();
  }

  #dispatch(exchange: Exchange, req: IncomingMessage, route: CompiledRoute, path: string, clientProto: 'http' | 'https'): void {
    try {
      const pool =
        route.proxyProtocol === 'v2' ? this.#pools.forConnection(route, req.socket, proxyHeaderFor(req)) : this.#pools.get(route);
      const xff = forwardedFor(req);
      let headers = forwardRequestHeaders(req.rawHeaders, {
        host: requestHost(req.url, req.headers.host),
        backendHostHeader: route.backend.hostHeader,
        preserveHost: route.preserveHost,
        forwardedHeaders: route.forwardedHeaders,
        clientIp: xff.value,
        replaceForwardedFor: xff.replace,
        serverName: route.serverName ?? this.#serverName,
        clientProto,
      });
      if (req.headers.expect !== undefined) headers = withoutHeader(headers, 'expect');
      pool.dispatch(
        {
          path,
          method: req.method ?? 'GET',
          headers,
          body: hasBody(req) ? req : null,
          // undici times this with its coarse timers (about 1 s resolution), fine for limits in seconds.
          headersTimeout: route.handshakeTimeoutMs,
          // No byte from the backend for this long while a body streams: the route's idle timeout (0 = none).
          bodyTimeout: route.idleTimeoutMs,
        },
        exchange,
      );
    } catch (err) {
      exchange.onResponseError(undefined, toError(err));
    }
  }

  /** Stops taking requests (503 WSP_SHUTTING_DOWN) and lets running ones finish; closes pools it owns. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#ownsPools ? this.#pools.close() : Promise.resolve();
  }

  /** Stops taking requests and cuts running ones (pools it owns are destroyed). */
  destroy(): Promise<void> {
    this.#closed = true;
    return this.#ownsPools ? this.#pools.destroy() : Promise.resolve();
  }
}

/**
 * One request/response exchange: undici's handler for the backend side, writing into the client's
 * ServerResponse. Its state is the controller and two flags; undici guarantees callbacks arrive in order and the
 * error callback at most once.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #onError: HttpProxyOptions['onError'];
  #controller: Dispatcher.DispatchController | undefined;
  /** The response to the client is complete or failed: ignore anything later. */
  #done = false;
  /** The client went away before the response was complete. */
  #clientGone = false;
  /** Balancer routes: the current member attempt. */
  #attempt: AttemptHooks | undefined;
  /** Response body bytes of the current attempt (balancer byte counters). */
  #bytes = 0;
  /** Maps the backend's answer headers back to the proxy (the route's `reverse`). */
  readonly #rewrite: ((headers: string[]) => void) | undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    onError: HttpProxyOptions['onError'],
    rewrite: ((headers: string[]) => void) | undefined,
  ) {
    this.#req = req;
    this.#res = res;
    this.#onError = onError;
    this.#rewrite = rewrite;
    res.on('drain', () => this.#controller?.resume());
    res.on('close', () => {
      if (res.writableFinished || this.#done) return;
      // The client closed early: abort the backend request so its connection is not left streaming.
      this.#clientGone = true;
      this.#controller?.abort(new WspassError('WSP_CLIENT_ERROR', 'client closed the connection'));
    });
  }

  /** Starts an attempt against a balancer member (the exchange may see several). */
  setAttempt(hooks: AttemptHooks): void {
    this.#attempt = hooks;
    this.#bytes = 0;
    this.#controller = undefined;
  }

  /** Answers an error of our own (no backend involved), e.g. 503 when no member is usable. */
  answer(code: ErrorCode, retryAfterS?: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#onError?.(code, new WspassError(code), this.#req);
    if (this.#clientGone || this.#res.destroyed) return;
    sendError(this.#res, code, { close: !this.#req.complete, ...(retryAfterS !== undefined && { retryAfterS }) });
  }

  #endAttempt(): AttemptHooks | undefined {
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.done(this.#bytes);
    return attempt;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new WspassError('WSP_CLIENT_ERROR', 'client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    _headers: unknown,
    statusMessage?: string,
  ): void {
    // 1xx (e.g. 103 Early Hints) are informational: the final response follows on the same exchange.
    if (statusCode < 200 || this.#done) return;
    const headers = forwardResponseHeaders(rawHeaderStrings(controller.rawHeaders));
    // The backend's own headers only: the sticky cookie below is ours.
    this.#rewrite?.(headers);
    const setCookie = this.#attempt?.setCookie;
    if (setCookie !== undefined) headers.push('Set-Cookie', setCookie);
    // A throw here (a header node:http refuses) is caught by undici and comes back through onResponseError.
    if (statusMessage) this.#res.writeHead(statusCode, statusMessage, headers);
    else this.#res.writeHead(statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    // Trailers are not relayed: node:http would need them announced before the body starts.
    this.#done = true;
    this.#endAttempt();
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#done) return;
    const code = this.#clientGone ? 'WSP_CLIENT_ERROR' : backendErrorCode(err);
    const attempt = this.#endAttempt();
    // Nothing reached the client yet: a balancer may try another member.
    if (attempt !== undefined && !this.#clientGone && !this.#res.headersSent && attempt.retry(code)) return;
    this.#done = true;
    this.#onError?.(code, err, this.#req);
    const res = this.#res;
    if (this.#clientGone || res.destroyed) return;
    if (res.headersSent || ERRORS[code].status === 0) {
      // The status line is out: cutting the connection is the only way the client can tell the body is short.
      res.destroy();
      return;
    }
    // An unread or half-read request body leaves the connection unusable for a next request.
    sendError(res, code, { close: !this.#req.complete });
  }
}

/** Whether the request has a body under HTTP/1.x framing (the same rule as the upgrade path). */
function hasBody(req: IncomingMessage): boolean {
  return requestHasBody(req.rawHeaders);
}

/** undici gives the raw response headers as Buffers, names and values alternating, in wire order. */
function rawHeaderStrings(raw: Dispatcher.DispatchController['rawHeaders']): string[] {
  if (!Array.isArray(raw)) return [];
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const item: Buffer | string | undefined = raw[i];
    out[i] = typeof item === 'string' ? item : (item?.toString('latin1') ?? '');
  }
  return out;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
