// The proxy on one thread: listeners, the route table, the plain-HTTP path and the upgrade path.
//
//   listener (node:http / node:https, llhttp parses the head)
//     ├─ shouldUpgradeCallback: route + upgrade policy decide, from the head, whether to tunnel
//     ├─ 'upgrade' ──▶ handleUpgrade ──▶ backend 101 ──▶ ByteTunnel
//     ├─ 'request' ──▶ route ──▶ HttpProxy (undici pool) | 4xx
//     ├─ 'connect' ──▶ 405 (a reverse proxy serves no CONNECT)
//     └─ 'clientError' ──▶ 400 / 408 / 431 by the parser's reason
//
// Request limits (maxRequestLineBytes, maxHeaderFieldBytes, maxHeaderFields: httpd's LimitRequest*) are
// checked on the parsed head before anything else, on both paths; the parser's own limit sits above them
// (http/request-limits.ts) so a head over a per-line limit gets httpd's status, not the parser's.
//
// A client may half-close (FIN) after a complete request and still read its answer (httpAllowHalfOpen), as
// health checkers and `nc`-style probes expect; node:http then ends the connection after that answer.
//
// Everything the process-level code (CLI, worker threads) needs is here: listen(), reload(), close(), destroy().
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.js';
import { resolveListeners } from '../config/listen-address.js';
import type { ErrorCode } from '../errors.js';
import { ERRORS } from '../errors.js';
import { endSocketWithError, lingerThenDestroy, sendError } from '../http/error-response.js';
import { requestHeadProblem } from '../http/request-checks.js';
import { overflowCode, parserFieldCount, parserHeadLimit, requestLimitProblem, type LimitProblem } from '../http/request-limits.js';
import { requestHasBody } from '../http/request-framing.js';
import { HttpProxy } from '../http/http-proxy.js';
import type { Logger } from '../log.js';
import { requestHost } from '../routing/normalize-path.js';
import type { RouteTable } from '../routing/route-table.js';
import { composeRoutes } from './compose-routes.js';
import type { FixedAnswer, RequestFacts } from '../routing/types.js';
import { loadListenerMaterial, type ListenerMaterial } from '../tls/certificate-material.js';
import { ListenerContexts } from '../tls/listener-contexts.js';
import { TlsSites } from '../tls/tls-sites.js';
import type { Tunnel, TunnelCloseInfo } from '../tunnel/tunnel.js';
import { resolveTunnelEngine, type TunnelEngine } from '../tunnel/tunnel-engine.js';
import { decideUpgrade, type UpgradeDecision } from './upgrade-decision.js';
import { handleUpgrade, type UpgradeContext } from './upgrade-handler.js';

/** Where the proxy reports what it does (the worker engine writes these into shared counters). */
export interface ProxyStats {
  tunnelOpened(route: string): void;
  tunnelClosed(route: string, info: TunnelCloseInfo, tunnel: Tunnel): void;
  httpRequest(route: string): void;
  error(code: ErrorCode, route: string | undefined): void;
}

export interface DrainOptions {
  /** Open tunnels are closed spread evenly over this window (no reconnect storm). */
  readonly tunnelDrainMs: number;
  /** Whatever is still open then is destroyed. */
  readonly deadlineMs: number;
}

export interface ProxyServerOptions {
  readonly log: Logger;
  readonly stats?: ProxyStats;
  /** Value of X-Forwarded-Server; the host name by default. */
  readonly serverName?: string;
  /** Bind listeners with SO_REUSEPORT (worker threads). */
  readonly reusePort?: boolean;
  /** The routes of `config`, composed by the caller (a worker: over the shared member table). */
  readonly routes?: RouteTable;
  /**
   * The certificate material of each TLS listener, by listener index (a worker: read and checked by the
   * primary); a TLS listener without it reads its files when it starts listening.
   */
  readonly tls?: readonly (ListenerMaterial | undefined)[];
}

type Proto = 'http' | 'https';

const decisions = new WeakMap<IncomingMessage, UpgradeDecision>();

/** What the route table reads of a request that arrived on listener `listener` (its index in `listen`). */
function factsOf(req: IncomingMessage, listener: number): RequestFacts {
  return {
    url: req.url ?? '',
    host: req.headers.host,
    listener,
    header(name: string) {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

export class ProxyServer {
  readonly #opts: ProxyServerOptions;
  readonly #log: Logger;
  readonly #serverName: string;
  #config: Config;
  #routes: RouteTable;
  readonly #servers: { server: http.Server; proto: Proto; host: string; port: number }[] = [];
  /** Certificate material by listener index: swapped by updateTls, used by listeners not bound yet. */
  readonly #tlsMaterial: (ListenerMaterial | undefined)[];
  /** The secure contexts of each bound TLS listener, by listener index. */
  readonly #tlsContexts: (ListenerContexts | undefined)[] = [];
  /** Live tunnels and their route names (shutdown, byte counters while they run). */
  readonly #tunnels = new Map<Tunnel, string>();
  /** The tunnel engine of this thread (config `tunnel.engine`). */
  #engine: TunnelEngine;
  /** Resolves a drain waiting for the last tunnel to close. */
  #onLastTunnel: (() => void) | undefined;
  readonly #httpProxy: HttpProxy;
  #closing = false;

  constructor(config: Config, opts: ProxyServerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#serverName = opts.serverName ?? hostname();
    this.#config = config;
    this.#tlsMaterial = [...(opts.tls ?? [])];
    this.#routes = opts.routes ?? composeRoutes(config);
    this.#engine = this.#resolveEngine(config, undefined);
    this.#httpProxy = new HttpProxy({
      serverName: this.#serverName,
      onError: (code: ErrorCode, err: Error, req: IncomingMessage) => {
        this.#log.warn({ code, status: ERRORS[code].status, url: req.url, err: err.message }, ERRORS[code].reason);
        this.#opts.stats?.error(code, undefined);
      },
    });
  }

  /** The engine new tunnels of plain TCP connections run on ('native' or 'js'). */
  get tunnelEngine(): 'native' | 'js' {
    return this.#engine.name;
  }

  /** Throws WSP_NATIVE_UNAVAILABLE for `native` without the addon; `auto` without it warns once. */
  #resolveEngine(config: Config, previous: TunnelEngine | undefined): TunnelEngine {
    const engine = resolveTunnelEngine(config.tunnel.engine);
    if (engine.fallback !== undefined && previous?.fallback === undefined) {
      this.#log.warn({ err: engine.fallback }, 'native tunnel engine not available; tunnels use the JavaScript engine');
    }
    engine.warn = (why) => this.#log.warn({ why }, 'tunnel runs on the JavaScript engine');
    return engine;
  }

  /** Live tunnels on this thread. */
  get tunnelCount(): number {
    return this.#tunnels.size;
  }

  /** Live tunnels with their route names. */
  liveTunnels(): IterableIterator<[Tunnel, string]> {
    return this.#tunnels.entries();
  }

  /**
   * Binds every listener; resolves with the bound addresses in config order. `ports` overrides the
   * configured port of each listener (worker threads bind the port the first worker got for `:0`).
   */
  async listen(ports?: readonly number[]): Promise<AddressInfo[]> {
    const listeners = resolveListeners(this.#config);
    const out: AddressInfo[] = [];
    for (const [i, configured] of listeners.entries()) {
      const l = { ...configured, port: ports?.[i] ?? configured.port };
      const proto: Proto = l.tls ? 'https' : 'http';
      let server: http.Server;
      let sites: TlsSites | undefined;
      if (l.tls) {
        const contexts = new ListenerContexts(new TlsSites(l.tls), this.#tlsMaterial[i] ?? loadListenerMaterial(l.tls));
        sites = contexts.sites;
        server = https.createServer({ ...this.#serverOptions(i, sites), ...contexts.serverOptions() });
        contexts.attach(server as https.Server);
        this.#tlsContexts[i] = contexts;
      } else {
        server = http.createServer(this.#serverOptions(i, undefined));
      }
      this.#wire(server, proto, i, sites);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: l.host, port: l.port, reusePort: this.#opts.reusePort ?? false }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.#log.error({ err: err.message }, 'listener error'));
      const addr = server.address() as AddressInfo;
      this.#servers.push({ server, proto, host: addr.address, port: addr.port });
      out.push(addr);
    }
    return out;
  }

  /**
   * Swaps the route table: new requests use it, open tunnels are not touched. `routes` are those of
   * `config`, already composed (a worker prepares them before the commit); otherwise they are composed here.
   */
  reload(config: Config, routes: RouteTable = composeRoutes(config)): void {
    this.#engine = this.#resolveEngine(config, this.#engine);
    this.#routes = routes;
    this.#config = config;
    // The parser's room (maxHeaderSize) is fixed when a listener starts; the field count is not.
    for (const { server } of this.#servers) server.maxHeadersCount = parserFieldCount(config);
  }

  /**
   * New certificate material for TLS listener `listener` (one entry per virtual host): new handshakes get
   * it, established connections and their tunnels keep theirs. Throws, changing nothing, if it does not load.
   */
  updateTls(listener: number, material: ListenerMaterial): void {
    this.#tlsContexts[listener]?.update(material);
    this.#tlsMaterial[listener] = material;
  }

  /**
   * Graceful shutdown: stop accepting, answer new requests on open connections with 503 and
   * `Connection: close`, let in-flight HTTP finish, close tunnels spread evenly over `tunnelDrainMs`, and
   * destroy whatever is left at `deadlineMs`. Resolves when nothing is left open.
   */
  async drain(opts: DrainOptions): Promise<void> {
    this.#closing = true;
    const timers: NodeJS.Timeout[] = [];
    const serversClosed = Promise.all(
      this.#servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    for (const { server } of this.#servers) server.closeIdleConnections();
    // Spread the closes: clients reconnect to another instance gradually instead of all at once.
    const tunnels = [...this.#tunnels.keys()];
    // WebSocket tunnels say goodbye with a closing handshake (close frames both ways) before the FIN.
    const { closeCode, closeHandshakeMs } = this.#config.shutdown;
    const goodbye = closeHandshakeMs > 0 ? { closeCode, handshakeMs: closeHandshakeMs } : undefined;
    tunnels.forEach((t, i) => {
      const at = Math.floor((opts.tunnelDrainMs * (i + 1)) / tunnels.length);
      timers.push(setTimeout(() => t.close(undefined, goodbye), Math.min(at, opts.deadlineMs)));
    });
    const tunnelsClosed = new Promise<void>((resolve) => {
      if (this.#tunnels.size === 0) resolve();
      else this.#onLastTunnel = resolve;
    });
    let deadlineHit = false;
    const deadline = new Promise<void>((resolve) => {
      timers.push(
        setTimeout(() => {
          deadlineHit = true;
          resolve();
        }, opts.deadlineMs),
      );
    });
    await Promise.race([Promise.all([serversClosed, tunnelsClosed, this.#httpProxy.close()]), deadline]);
    for (const t of timers) clearTimeout(t);
    if (deadlineHit) {
      this.#log.warn({ tunnels: this.#tunnels.size }, 'drain deadline reached; destroying what is left');
      await this.destroy();
    }
  }

  /** Graceful close with no drain window for tunnels. */
  close(): Promise<void> {
    return this.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
  }

  /** Forceful: every socket is destroyed now. Idempotent. */
  async destroy(): Promise<void> {
    this.#closing = true;
    for (const t of this.#tunnels.keys()) t.destroy();
    for (const { server } of this.#servers) {
      server.close();
      server.closeAllConnections();
    }
    await this.#httpProxy.destroy();
  }

  #serverOptions(listener: number, sites: TlsSites | undefined): http.ServerOptions {
    const options: http.ServerOptions & { shouldUpgradeCallback?: (req: IncomingMessage) => boolean } = {
      maxHeaderSize: parserHeadLimit(this.#config),
      // Long uploads and downloads are streamed: no whole-request deadline; slow heads are still bounded
      // by headersTimeout.
      requestTimeout: 0,
      ...headTimeouts(this.#config.headTimeoutMs),
      keepAliveTimeout: 5_000,
      // Host is checked by requestHeadProblem on both paths, answered from the error catalogue.
      requireHostHeader: false,
      shouldUpgradeCallback: (req) => this.#shouldUpgrade(req, listener, sites),
    };
    return options;
  }

  #wire(server: http.Server, proto: Proto, listener: number, sites: TlsSites | undefined): void {
    const ctx: UpgradeContext = {
      log: this.#log,
      serverName: this.#serverName,
      maxHeaderBytes: this.#config.maxHeaderBytes,
      clientProto: proto,
      tunnelEngine: () => this.#engine,
      reinject: (socket: Socket) => {
        // Give the connection back to node:http: it parses the next request as if the socket were new.
        server.emit(proto === 'https' ? 'secureConnection' : 'connection', socket);
      },
      onTunnelOpen: (route, tunnel) => {
        this.#tunnels.set(tunnel, route);
        this.#opts.stats?.tunnelOpened(route);
      },
      onTunnelClose: (info, route, tunnel) => {
        this.#tunnels.delete(tunnel);
        this.#opts.stats?.tunnelClosed(route, info, tunnel);
        if (this.#tunnels.size === 0) this.#onLastTunnel?.();
      },
      onError: (code, route) => this.#opts.stats?.error(code, route),
    };
    // Fields beyond node:http's count are dropped unseen; one more than the limit shows a head over it.
    server.maxHeadersCount = parserFieldCount(this.#config);
    // Answer a complete request even when the client has already sent its FIN (see the top of the file).
    (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      this.#onRequest(req, res, proto, listener, sites),
    );
    server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      socket.on('error', ignoreError);
      this.#log.info({ code: 'WSP_CONNECT_METHOD', status: 405, url: req.url }, ERRORS.WSP_CONNECT_METHOD.reason);
      this.#opts.stats?.error('WSP_CONNECT_METHOD', undefined);
      endSocketWithError(socket, 'WSP_CONNECT_METHOD');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // node:http drops its own 'error' listener when it hands the socket over; a client reset while an
      // answer is written here would otherwise be an uncaught exception that ends the worker.
      socket.on('error', () => socket.destroy());
      if (this.#closing) {
        endSocketWithError(socket, 'WSP_SHUTTING_DOWN');
        return;
      }
      // Without shouldUpgradeCallback (older runtimes) every flagged request lands here undecided.
      const decision = decisions.get(req) ?? this.#decide(req, listener, sites);
      if (!decision.tunnel) {
        const declined = this.#declinedUpgrade(req, listener, sites);
        endSocketWithError(socket, declined.code, undefined, declined.status);
        return;
      }
      handleUpgrade(ctx, req, socket as Socket, head, decision).catch((err: unknown) => {
        this.#log.error({ err: err instanceof Error ? err.stack : String(err) }, 'upgrade handler failed');
        socket.destroy();
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#onClientError(err, socket));
  }

  #shouldUpgrade(req: IncomingMessage, listener: number, sites: TlsSites | undefined): boolean {
    if (this.#closing) return false;
    const decision = this.#decide(req, listener, sites);
    decisions.set(req, decision);
    return decision.tunnel;
  }

  #limitProblem(req: IncomingMessage): LimitProblem | undefined {
    return requestLimitProblem(req.method ?? '', req.url ?? '', req.httpVersion, req.rawHeaders, this.#config);
  }

  #decide(req: IncomingMessage, listener: number, sites: TlsSites | undefined): UpgradeDecision {
    // A head that must be refused is not tunnelled: the plain path answers it (400, 414, 421 or 431).
    if (this.#limitProblem(req) !== undefined) return { tunnel: false };
    if (requestHeadProblem(req.httpVersion, req.rawHeaders) !== undefined) return { tunnel: false };
    if (tlsHostProblem(req, sites) !== undefined) return { tunnel: false };
    return decideUpgrade(req.httpVersion, req.headers.upgrade, this.#routes.match(factsOf(req, listener)));
  }

  /** The answer to an upgrade request that is not tunnelled, on a runtime without shouldUpgradeCallback. */
  #declinedUpgrade(req: IncomingMessage, listener: number, sites: TlsSites | undefined): { code: ErrorCode; status?: number } {
    const limit = this.#limitProblem(req);
    if (limit !== undefined) return { code: limit.code };
    if (requestHeadProblem(req.httpVersion, req.rawHeaders) !== undefined) return { code: 'WSP_BAD_REQUEST' };
    const tlsProblem = tlsHostProblem(req, sites);
    if (tlsProblem !== undefined) return { code: tlsProblem };
    const match = this.#routes.match(factsOf(req, listener));
    if (match === null) return { code: 'WSP_NO_ROUTE' };
    if (match === 'bad-request') return { code: 'WSP_BAD_REQUEST' };
    if ('respond' in match) {
      this.#logFixed(req, match);
      return { code: 'WSP_FIXED_STATUS', status: match.respond };
    }
    return { code: 'WSP_UPGRADE_REFUSED' };
  }

  #logFixed(req: IncomingMessage, answer: FixedAnswer): void {
    this.#log.info({ code: 'WSP_FIXED_STATUS', status: answer.respond, route: answer.name, method: req.method, url: req.url }, ERRORS.WSP_FIXED_STATUS.reason);
    this.#opts.stats?.error('WSP_FIXED_STATUS', answer.name);
  }

  #onRequest(
    req: IncomingMessage,
    res: ServerResponse,
    proto: Proto,
    listener: number,
    sites: TlsSites | undefined,
  ): void {
    if (this.#closing) {
      sendError(res, 'WSP_SHUTTING_DOWN', { close: true });
      return;
    }
    const limit = this.#limitProblem(req);
    if (limit !== undefined) {
      // httpd closes the connection after these answers too.
      this.#log.info({ code: limit.code, status: ERRORS[limit.code].status, problem: limit.reason }, ERRORS[limit.code].reason);
      this.#opts.stats?.error(limit.code, undefined);
      sendError(res, limit.code, { close: true });
      return;
    }
    const problem = requestHeadProblem(req.httpVersion, req.rawHeaders);
    if (problem !== undefined) {
      // The framing cannot be trusted, so neither can the connection: answer and close.
      this.#log.info({ code: 'WSP_BAD_REQUEST', status: 400, url: req.url, problem }, ERRORS.WSP_BAD_REQUEST.reason);
      this.#opts.stats?.error('WSP_BAD_REQUEST', undefined);
      sendError(res, 'WSP_BAD_REQUEST', { close: true });
      return;
    }
    const tlsProblem = tlsHostProblem(req, sites);
    if (tlsProblem !== undefined) {
      this.#reject(req, res, tlsProblem);
      return;
    }
    const match = this.#routes.match(factsOf(req, listener));
    if (match === 'bad-request') {
      this.#reject(req, res, 'WSP_BAD_REQUEST');
      return;
    }
    if (match === null) {
      this.#reject(req, res, 'WSP_NO_ROUTE');
      return;
    }
    if ('respond' in match) {
      // Upgrade requests land here too (never tunnelled), so they get the status and no 101.
      this.#logFixed(req, match);
      req.resume();
      sendError(res, 'WSP_FIXED_STATUS', { status: match.respond });
      return;
    }
    if (match.route.upgradeOnly) {
      this.#reject(req, res, 'WSP_UPGRADE_ONLY');
      return;
    }
    this.#opts.stats?.httpRequest(match.route.name);
    if (requestHasBody(req.rawHeaders)) guardRequestBody(req, res);
    this.#httpProxy.handle(req, res, match, proto);
  }

  #reject(req: IncomingMessage, res: ServerResponse, code: ErrorCode): void {
    this.#log.info({ code, status: ERRORS[code].status, method: req.method, url: req.url }, ERRORS[code].reason);
    this.#opts.stats?.error(code, undefined);
    // A request body we will not read is drained so the connection stays usable.
    req.resume();
    sendError(res, code);
  }

  #onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A response already started on this connection (e.g. the 400 for a head whose framing is refused, then
    // the parser trips on that framing): a second status line would corrupt it. Let it finish, then close.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (inFlight?.headersSent === true) {
      socket.end();
      lingerThenDestroy(socket);
      return;
    }
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? overflowCode(this.#config) : clientErrorCode(err.code);
    this.#log.info({ code, status: ERRORS[code].status, parserError: err.code }, ERRORS[code].reason);
    this.#opts.stats?.error(code, undefined);
    endSocketWithError(socket, code);
  }
}

function ignoreError(): void {}

/**
 * On a TLS listener, a request whose host does not fit the handshake's SNI: naming a virtual host with
 * another certificate than the one SNI chose gets 421 (httpd's AH02032) rather than one host's content
 * under another host's certificate; naming no host at all (HTTP/1.0) gets 400 (AH02031).
 */
function tlsHostProblem(req: IncomingMessage, sites: TlsSites | undefined): ErrorCode | undefined {
  if (sites === undefined) return undefined;
  // The host the request names is the one routes match: an absolute-form target's authority, else Host.
  const problem = sites.check((req.socket as TLSSocket).servername, requestHost(req.url, req.headers.host));
  return problem === 'misdirected' ? 'WSP_MISDIRECTED_REQUEST' : problem === 'no-host' ? 'WSP_BAD_REQUEST' : undefined;
}

/**
 * A client FIN inside the request body makes the request incomplete. node:http reports that as a parse error,
 * except for a message that carried Upgrade and was not upgraded (llhttp accepts the EOF there) and, with
 * httpAllowHalfOpen, it no longer aborts the request either: the exchange would wait for the body forever.
 * It is answered here with 400 (or a response already started is cut), and the request toward the backend is
 * aborted once the connection is gone.
 */
function guardRequestBody(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const onEnd = (): void => {
    // Already answered (the parser's own error path) or complete: nothing to do.
    if (req.complete || socket.writableEnded) return;
    if (!res.headersSent) sendError(res, 'WSP_BAD_REQUEST', { close: true });
    else res.destroy();
  };
  socket.once('end', onEnd);
  res.once('close', () => socket.removeListener('end', onEnd));
  // node:http destroys an incomplete request when its connection closes only while the response is still
  // pending; after an early answer the exchange would keep waiting for a body that can no longer come.
  socket.once('close', () => {
    if (!req.complete && !req.destroyed) req.destroy();
  });
}

/** The catalogue code for a request node:http's parser refused. */
function clientErrorCode(parserCode: string | undefined): ErrorCode {
  if (parserCode === 'ERR_HTTP_REQUEST_TIMEOUT') return 'WSP_HEAD_TIMEOUT';
  return 'WSP_BAD_REQUEST';
}

/**
 * node:http's head timeout for `headTimeoutMs`. Node checks it only every connectionsCheckingInterval (30 s
 * by default, so a 20 s limit acted after up to 50 s): the check runs often enough that a slow head is cut
 * within a tenth of the limit (at least every 100 ms, at most every second). The check walks the
 * connections whose head is being parsed, not open tunnels, so it stays cheap with many tunnels.
 */
function headTimeouts(headTimeoutMs: number): Pick<http.ServerOptions, 'headersTimeout' | 'connectionsCheckingInterval'> {
  if (headTimeoutMs === 0) return { headersTimeout: 0 };
  return {
    headersTimeout: headTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(headTimeoutMs / 10))),
  };
}
