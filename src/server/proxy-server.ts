// The proxy on one thread: listeners, the route table, the plain-HTTP path and the upgrade path.
//
//   listener (node:http / node:https, llhttp parses the head)
//     ├─ shouldUpgradeCallback: route + upgrade policy decide, from the head, whether to tunnel
//     ├─ 'upgrade' ──▶ handleUpgrade ──▶ backend 101 ──▶ ByteTunnel
//     ├─ 'request' ──▶ route ──▶ HttpProxy (undici pool) | 4xx
//     ├─ 'connect' ──▶ 405 (a reverse proxy serves no CONNECT)
//     └─ 'clientError' ──▶ 400 / 408 / 431 by the parser's reason
//
// With the native front (config `tunnel.front`, native engine) a plain listener without PROXY protocol
// accepts in C: a head the strict reader reads and the routes tunnel goes to handleUpgrade directly, any
// other connection to the listener as above, bytes intact (native-front.ts).
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
import { compileCidrs } from '../config/cidr.js';
import type { ForwardingPolicy } from '../http/client-address.js';
import { HandshakesInFlight } from './handshakes-in-flight.js';
import { ListenerPipeline, type ProxyProtocolSettings } from './listener-pipeline.js';
import { startFront, type RunningFront } from './native-front.js';
import { recordConnection } from '../http/client-address.js';
import type { RequestView } from '../http/request-view.js';
import type { ErrorCode } from '../errors.js';
import { ERRORS } from '../errors.js';
import { endSocketWithError, lingerThenDestroy, sendError } from '../http/error-response.js';
import { requestHeadProblem } from '../http/request-checks.js';
import { overflowCode, parserFieldCount, parserHeadLimit, requestLimitProblem, type LimitProblem } from '../http/request-limits.js';
import { requestHasBody } from '../http/request-framing.js';
import { HttpProxy } from '../http/http-proxy.js';
import type { Logger } from '../log.js';
import { AccessLog, type CloseCause } from '../log/access-log.js';
import { RateLimitedLog } from '../log/rate-limited.js';
import { clientAddress } from '../http/client-address.js';
import { servedBy } from '../http/http-proxy.js';
import { requestHost } from '../routing/normalize-path.js';
import type { RouteTable } from '../routing/route-table.js';
import { composeRoutes } from './compose-routes.js';
import type { FixedAnswer, RequestFacts } from '../routing/types.js';
import { loadListenerMaterial, type ListenerMaterial } from '../tls/certificate-material.js';
import { ListenerContexts } from '../tls/listener-contexts.js';
import { TlsSites } from '../tls/tls-sites.js';
import type { Tunnel, TunnelCloseInfo } from '../tunnel/tunnel.js';
import { resolveTunnelEngine, type TunnelEngine } from '../tunnel/tunnel-engine.js';
import { listOpenTunnels, selectOpenTunnels, type OpenTunnel, type TunnelInfo, type TunnelQuery, type TunnelSelector } from './open-tunnels.js';
import { decideUpgrade, type UpgradeDecision } from './upgrade-decision.js';
import { handleUpgrade, type UpgradeContext } from './upgrade-handler.js';
import { LimitState, TunnelAdmission } from '../limits/tunnel-admission.js';

/** What a closed tunnel's counters need beyond its close info. */
export interface TunnelCloseFacts {
  /** What ended it: its close reason, or `drain` when a drain closed it. */
  readonly cause: CloseCause;
  /** The balancer member it went to. */
  readonly member: string | undefined;
}

/**
 * A live tunnel as the stats see it. What of its bytes was already added to the counters is kept on it,
 * so the stats keep nothing per tunnel.
 */
export interface CountedTunnel {
  readonly route: string;
  readonly member: string | undefined;
  readonly bytesToBackend: number;
  readonly bytesToClient: number;
  countedToBackend: number;
  countedToClient: number;
  /** The engine relaying it and the times it handed data to a socket so far (Tunnel's). */
  readonly engine: 'js' | 'native';
  readonly flushes: number;
}

/** Where the proxy reports what it does (the worker engine writes these into shared counters). */
export interface ProxyStats {
  tunnelOpened(route: string): void;
  tunnelClosed(route: string, info: TunnelCloseInfo, tunnel: CountedTunnel, facts?: TunnelCloseFacts): void;
  /** Called once by the server: its live tunnels, for counting their bytes while they run. */
  watch?(live: () => Iterable<CountedTunnel>): void;
  httpRequest(route: string): void;
  error(code: ErrorCode, route: string | undefined): void;
  /** An upgrade's handshake ended with `outcome` (handshake-outcome.ts) after `seconds`. */
  handshake?(outcome: string, seconds: number): void;
  /** A drain began with `tunnels` open. */
  draining?(tunnels: number): void;
  /** The native front took a handshake, or gave a connection to node:http (config `tunnel.front`). */
  front?(event: 'taken' | 'givenBack'): void;
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
  /** Tunnel ids of this server start above this (a worker: its own range, so ids are unique per process). */
  readonly tunnelIdBase?: number;
  /** Shown as `worker` in tunnel listings. */
  readonly workerId?: number;
  /** Tunnel counts shared with the other workers; a ProxyServer on its own keeps private ones. */
  readonly limits?: LimitState;
}

/** A client address the full client table could not track is logged at most this often per thread. */
const UNTRACKED_LOG_MS = 60_000;

type Proto = 'http' | 'https';

const decisions = new WeakMap<IncomingMessage, UpgradeDecision>();

/** A connection's byte counts when its last answer ended (the access log counts each answer's share). */
const connectionMarks = new WeakMap<Socket | Duplex, { read: number; written: number }>();

/** What the route table reads of a request that arrived on listener `listener` (its index in `listen`). */
function factsOf(req: RequestView, listener: number): RequestFacts {
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
  readonly #servers: { server: http.Server; proto: Proto; host: string; port: number; pipeline: ListenerPipeline }[] = [];
  /** The PROXY step of each listener (by index) and the X-Forwarded-For policy, compiled from #config. */
  #proxyProtocol: (ProxyProtocolSettings | undefined)[] = [];
  #forwarding: ForwardingPolicy;
  /** Certificate material by listener index: swapped by updateTls, used by listeners not bound yet. */
  readonly #tlsMaterial: (ListenerMaterial | undefined)[];
  /** The secure contexts of each bound TLS listener, by listener index. */
  readonly #tlsContexts: (ListenerContexts | undefined)[] = [];
  /** Live tunnels' records, in opening (= id) order: shutdown, byte counters, the admin endpoint. */
  readonly #tunnels = new Set<OpenTunnel>();
  #lastTunnelId: number;
  /** The tunnel engine of this thread (config `tunnel.engine`). */
  #engine: TunnelEngine;
  /** The handshakes in flight (upgrade-handler.ts): destroy() ends them; a drain waits for them. */
  readonly #handshakes = new HandshakesInFlight(() => this.#lastOneGone());
  /** Resolves a drain waiting for the last tunnel (and the last handshake in flight) to end. */
  #onLastTunnel: (() => void) | undefined;
  /** During a drain: closes a tunnel that opened after the drain began (a handshake that was in flight). */
  #drainLate: ((t: OpenTunnel) => void) | undefined;
  readonly #httpProxy: HttpProxy;
  readonly #limits: LimitState;
  #admission: TunnelAdmission;
  #untrackedLoggedAt = -Infinity;
  #closing = false;
  #access: AccessLog;
  /** Error lines by code, one a second at most (storms). */
  readonly #errorLog = new RateLimitedLog();
  /** Tunnels a drain closed (their close reason is `drain`, not the engine's `closed`). */
  readonly #drained = new WeakSet<OpenTunnel>();
  /** The native front's counts of each listener it runs on (config `tunnel.front`). */
  readonly #fronts: RunningFront[] = [];

  constructor(config: Config, opts: ProxyServerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#serverName = opts.serverName ?? hostname();
    this.#config = config;
    this.#forwarding = this.#compileClientAddressing(config);
    this.#tlsMaterial = [...(opts.tls ?? [])];
    this.#lastTunnelId = opts.tunnelIdBase ?? 0;
    this.#routes = opts.routes ?? composeRoutes(config);
    this.#engine = this.#resolveEngine(config, undefined);
    // Asked for by name on an engine without the addon; unset, the front simply follows the engine.
    if (config.tunnel.front === true && this.#engine.addon === undefined) {
      this.#log.warn({}, 'tunnel.front needs the native engine: listeners accept in Node');
    }
    this.#limits = opts.limits ?? LimitState.local(config);
    this.#admission = this.#admissionFor(config);
    this.#access = new AccessLog(this.#log, config);
    opts.stats?.watch?.(() => this.#tunnels);
    this.#httpProxy = new HttpProxy({
      serverName: this.#serverName,
      onError: (code: ErrorCode, err: Error, req: IncomingMessage) => {
        this.#logCode('warn', code, { status: ERRORS[code].status, url: req.url, err: err.message });
        this.#opts.stats?.error(code, undefined);
      },
    });
  }

  /** The engine new tunnels of plain TCP connections run on ('native' or 'js'). */
  get tunnelEngine(): 'native' | 'js' {
    return this.#engine.name;
  }

  #admissionFor(config: Config): TunnelAdmission {
    this.#limits.configure(config);
    return new TunnelAdmission(config, this.#limits, (address, why) => {
      const now = Date.now();
      if (now - this.#untrackedLoggedAt < UNTRACKED_LOG_MS) return;
      this.#untrackedLoggedAt = now;
      if (why === 'full') this.#log.warn({ client: address, tableSize: this.#limits.clients.capacity }, 'client table full: this address is not limited per client');
      else this.#log.warn({ client: address }, 'client table held by another thread for a second: this handshake is not limited per client');
    });
  }

  /** Compiles `listen[].proxyProtocol` and `forwardedFor` (the config has been validated: ranges parse). */
  #compileClientAddressing(config: Config): ForwardingPolicy {
    this.#proxyProtocol = resolveListeners(config).map((l) =>
      l.proxyProtocol === undefined
        ? undefined
        : { trustedSources: compileCidrs(l.proxyProtocol.trustedSources), headerTimeoutMs: l.proxyProtocol.headerTimeoutMs },
    );
    return { trustedHops: compileCidrs(config.forwardedFor.trustedHops), mode: config.forwardedFor.mode };
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

  /** What the native front did on this thread: handshakes it took, connections it gave to node:http. */
  get frontCounts(): { readonly listeners: number; readonly taken: number; readonly givenBack: number } {
    let taken = 0;
    let givenBack = 0;
    for (const { counts } of this.#fronts) {
      taken += counts.taken;
      givenBack += counts.givenBack;
    }
    return { listeners: this.#fronts.length, taken, givenBack };
  }

  /** Live tunnels on this thread. */
  get tunnelCount(): number {
    return this.#tunnels.size;
  }

  /** Live tunnels with their route names. */
  *liveTunnels(): IterableIterator<[Tunnel, string]> {
    for (const t of this.#tunnels) yield [t.tunnel, t.route];
  }

  /** Open tunnels for the admin endpoint, in id order (see open-tunnels.ts). */
  listTunnels(q: TunnelQuery): TunnelInfo[] {
    return listOpenTunnels(this.#tunnels, q, this.#opts.workerId ?? 0);
  }

  /** Closes (gracefully) the tunnels `sel` names; returns how many. */
  closeTunnels(sel: TunnelSelector): number {
    const tunnels = selectOpenTunnels(this.#tunnels, sel);
    for (const t of tunnels) t.close();
    return tunnels.length;
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
      const pipeline = new ListenerPipeline(server, {
        proxyProtocol: () => this.#proxyProtocol[i],
        policy: () => this.#forwarding,
        onRefused: (code, details) => {
          this.#log.info({ code, listener: l.address, ...details }, ERRORS[code].reason);
          this.#opts.stats?.error(code, undefined);
        },
      });
      const ctx = this.#wire(server, proto, i, sites, pipeline);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: l.host, port: l.port, reusePort: this.#opts.reusePort ?? false }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.#log.error({ err: err.message }, 'listener error'));
      if (!l.tls && this.#proxyProtocol[i] === undefined) this.#startFront(server, i, ctx);
      const addr = server.address() as AddressInfo;
      this.#servers.push({ server, proto, host: addr.address, port: addr.port, pipeline });
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
    this.#admission = this.#admissionFor(config);
    this.#config = config;
    this.#access = new AccessLog(this.#log, config);
    this.#forwarding = this.#compileClientAddressing(config);
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
    for (const { server, pipeline } of this.#servers) {
      server.closeIdleConnections();
      pipeline.destroyPending();
    }
    // Spread the closes: clients reconnect to another instance gradually instead of all at once.
    const tunnels = [...this.#tunnels];
    // WebSocket tunnels say goodbye with a closing handshake (close frames both ways) before the FIN.
    const { closeCode, closeHandshakeMs } = this.#config.shutdown;
    const goodbye = closeHandshakeMs > 0 ? { closeCode, handshakeMs: closeHandshakeMs } : undefined;
    this.#opts.stats?.draining?.(tunnels.length);
    tunnels.forEach((t, i) => {
      const at = Math.floor((opts.tunnelDrainMs * (i + 1)) / tunnels.length);
      timers.push(
        setTimeout(() => {
          this.#drained.add(t);
          t.tunnel.close(undefined, goodbye);
        }, Math.min(at, opts.deadlineMs)),
      );
    });
    // A handshake in flight may still open a tunnel: it is closed at the end of the spread (or at once, past it).
    const spreadEnd = performance.now() + Math.min(opts.tunnelDrainMs, opts.deadlineMs);
    this.#drainLate = (t) => {
      timers.push(
        setTimeout(() => {
          this.#drained.add(t);
          t.tunnel.close(undefined, goodbye);
        }, Math.max(0, spreadEnd - performance.now())),
      );
    };
    const tunnelsClosed = new Promise<void>((resolve) => {
      if (this.#tunnels.size === 0 && this.#handshakes.size === 0) resolve();
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
    this.#drainLate = undefined;
    for (const t of timers) clearTimeout(t);
    this.#errorLog.flush();
    if (deadlineHit) {
      this.#log.warn({ tunnels: this.#tunnels.size }, 'drain deadline reached; destroying what is left');
      await this.destroy();
    }
  }

  /** Graceful close with no drain window for tunnels. */
  close(): Promise<void> {
    return this.drain({ tunnelDrainMs: 0, deadlineMs: 5_000 });
  }

  /** Forceful: every socket is destroyed now, handshakes in flight too (their backends with them). Idempotent. */
  async destroy(): Promise<void> {
    this.#closing = true;
    for (const t of this.#tunnels) t.tunnel.destroy();
    this.#handshakes.destroyAll();
    for (const { server, pipeline } of this.#servers) {
      server.close();
      server.closeAllConnections();
      pipeline.destroyPending();
    }
    for (const front of this.#fronts) front.drop();
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

  /**
   * The native front on a plain, PROXY-less listener (config `tunnel.front`, native engine): C accepts and
   * peeks; a head the routes tunnel goes to handleUpgrade as the 'upgrade' event's would, everything else to
   * node:http with its bytes (native-front.ts).
   */
  #startFront(server: http.Server, listener: number, ctx: UpgradeContext): void {
    const addon = this.#engine.addon;
    if (this.#config.tunnel.front === false || addon === undefined) return;
    const policy = (): ForwardingPolicy => this.#forwarding;
    const started = startFront(
      addon,
      server,
      {
        limits: () => this.#config,
        decide: (req) => {
          if (this.#closing) return undefined;
          const decision = this.#decide(req, listener, undefined);
          return decision.tunnel ? decision : undefined;
        },
        taken: (client, req, decision) => {
          recordConnection(req.socket, undefined, policy);
          handleUpgrade(ctx, req, client, EMPTY, decision).catch((err: unknown) => {
            this.#log.error({ err: err instanceof Error ? err.stack : String(err) }, 'upgrade handler failed');
            client.destroy();
          });
        },
        // A taken client's socket (an answer other than 101, an error): set up as taken sockets were.
        adopted: (socket) => {
          socket.on('error', () => socket.destroy());
          recordConnection(socket, undefined, policy);
        },
        counted: (event) => this.#opts.stats?.front?.(event),
        timedOut: (socket) => this.#onClientError(Object.assign(new Error('request head timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket),
      },
      parserHeadLimit(this.#config) + 1,
      this.#config.headTimeoutMs,
    );
    if (typeof started === 'string') this.#log.warn({ why: started }, 'native front not started: the listener accepts in Node');
    else this.#fronts.push(started);
  }

  #wire(server: http.Server, proto: Proto, listener: number, sites: TlsSites | undefined, pipeline: ListenerPipeline): UpgradeContext {
    const ctx: UpgradeContext = {
      log: this.#log,
      serverName: this.#serverName,
      maxHeaderBytes: this.#config.maxHeaderBytes,
      clientProto: proto,
      tunnelEngine: () => this.#engine,
      reinject: (socket: Socket) => {
        // Give the connection back to node:http: it parses the next request as if the socket were new.
        // A plain connection skips the PROXY step it has been through already.
        if (proto === 'https') server.emit('secureConnection', socket);
        else pipeline.deliver(socket);
      },
      errorLog: this.#errorLog,
      onTunnelOpen: (t) => {
        t.id = ++this.#lastTunnelId;
        this.#tunnels.add(t);
        this.#opts.stats?.tunnelOpened(t.route);
        this.#access.tunnelOpened(t.facts());
        this.#drainLate?.(t);
      },
      onTunnelClose: (info, t) => {
        this.#tunnels.delete(t);
        const cause: CloseCause = this.#drained.has(t) && info.reason === 'closed' ? 'drain' : info.reason;
        this.#access.tunnelClosed(t.facts(), info, cause);
        this.#opts.stats?.tunnelClosed(t.route, info, t, { cause, member: t.member });
        this.#lastOneGone();
      },
      onHandshake: (outcome, seconds) => this.#opts.stats?.handshake?.(outcome, seconds),
      onError: (code, route) => this.#opts.stats?.error(code, route),
      admission: () => this.#admission,
      handshakes: this.#handshakes,
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
      this.#logCode('info', 'WSP_CONNECT_METHOD', { status: 405, url: req.url });
      this.#opts.stats?.error('WSP_CONNECT_METHOD', undefined);
      endSocketWithError(socket, 'WSP_CONNECT_METHOD');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // node:http drops its own 'error' listener when it hands the socket over; a client reset while an
      // answer is written here would otherwise be an uncaught exception that ends the worker.
      socket.on('error', () => socket.destroy());
      if (this.#closing) {
        this.#opts.stats?.error('WSP_SHUTTING_DOWN', undefined);
        endSocketWithError(socket, 'WSP_SHUTTING_DOWN');
        return;
      }
      // Without shouldUpgradeCallback (older runtimes) every flagged request lands here undecided.
      const decision = decisions.get(req) ?? this.#decide(req, listener, sites);
      if (!decision.tunnel) {
        const declined = this.#declinedUpgrade(req, listener, sites);
        // A fixed answer was counted where it was logged (#logFixed).
        if (declined.code !== 'WSP_FIXED_STATUS') this.#opts.stats?.error(declined.code, undefined);
        endSocketWithError(socket, declined.code, undefined, declined.status);
        return;
      }
      handleUpgrade(ctx, req, socket as Socket, head, decision).catch((err: unknown) => {
        this.#log.error({ err: err instanceof Error ? err.stack : String(err) }, 'upgrade handler failed');
        socket.destroy();
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#onClientError(err, socket));
    return ctx;
  }

  /** A drain waiting for the tunnels ends when the last tunnel and the last handshake in flight are gone. */
  #lastOneGone(): void {
    if (this.#tunnels.size === 0 && this.#handshakes.size === 0) this.#onLastTunnel?.();
  }

  #shouldUpgrade(req: IncomingMessage, listener: number, sites: TlsSites | undefined): boolean {
    if (this.#closing) return false;
    const decision = this.#decide(req, listener, sites);
    decisions.set(req, decision);
    return decision.tunnel;
  }

  #limitProblem(req: RequestView): LimitProblem | undefined {
    return requestLimitProblem(req.method ?? '', req.url ?? '', req.httpVersion, req.rawHeaders, this.#config);
  }

  #decide(req: RequestView, listener: number, sites: TlsSites | undefined): UpgradeDecision {
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

  /** An error line of the catalogue, thinned to one per code per second during storms. */
  #logCode(level: 'info' | 'warn', code: ErrorCode, fields: Record<string, unknown>): void {
    this.#errorLog.write(this.#log, level, code, fields, ERRORS[code].reason);
  }

  #logFixed(req: IncomingMessage, answer: FixedAnswer): void {
    // An answer the config asks for, not an error: every one is logged.
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
    const access = this.#accessLogRequest(req, res);
    if (this.#closing) {
      this.#opts.stats?.error('WSP_SHUTTING_DOWN', undefined);
      sendError(res, 'WSP_SHUTTING_DOWN', { close: true });
      return;
    }
    const limit = this.#limitProblem(req);
    if (limit !== undefined) {
      // httpd closes the connection after these answers too.
      this.#logCode('info', limit.code, { status: ERRORS[limit.code].status, problem: limit.reason });
      this.#opts.stats?.error(limit.code, undefined);
      sendError(res, limit.code, { close: true });
      return;
    }
    const problem = requestHeadProblem(req.httpVersion, req.rawHeaders);
    if (problem !== undefined) {
      // The framing cannot be trusted, so neither can the connection: answer and close.
      this.#logCode('info', 'WSP_BAD_REQUEST', { status: 400, url: req.url, problem });
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
    access.route = 'respond' in match ? match.name : match.route.name;
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
    if (requestHasBody(req.rawHeaders)) {
      guardRequestBody(req, res, () => this.#opts.stats?.error('WSP_BAD_REQUEST', match.route.name));
    }
    this.#httpProxy.handle(req, res, match, proto);
  }

  /**
   * The access log line of a plain HTTP request, written when its answer is done (or cut); the route is
   * filled in once the request matched one. Bytes are the connection's since the previous answer on it
   * ended: node:http has read the whole head (and maybe more) before it emits the request.
   */
  #accessLogRequest(req: IncomingMessage, res: ServerResponse): { route: string | undefined } {
    const entry: { route: string | undefined } = { route: undefined };
    const access = this.#access;
    // Off (log.access false, or a level above info): no listener, no client address, no byte marks. A
    // reload that turns it on starts the marks then: the first line of a connection that served requests
    // before counts their bytes too.
    if (!access.writesRequests) return entry;
    const socket = req.socket;
    const started = performance.now();
    // Read now: node:http detaches the socket from the request before 'close'.
    const client = clientAddress(req);
    res.once('close', () => {
      const mark = connectionMarks.get(socket) ?? { read: 0, written: 0 };
      connectionMarks.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
      access.httpRequest({
        route: entry.route,
        method: req.method ?? '',
        url: req.url ?? '',
        client,
        member: servedBy.get(res),
        status: res.statusCode,
        bytesToClient: socket.bytesWritten - mark.written,
        bytesFromClient: socket.bytesRead - mark.read,
        durationMs: Math.round(performance.now() - started),
        aborted: !res.writableFinished,
      });
    });
    return entry;
  }

  #reject(req: IncomingMessage, res: ServerResponse, code: ErrorCode): void {
    this.#logCode('info', code, { status: ERRORS[code].status, method: req.method, url: req.url });
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
    this.#logCode('info', code, { status: ERRORS[code].status, parserError: err.code });
    this.#opts.stats?.error(code, undefined);
    endSocketWithError(socket, code);
  }
}

function ignoreError(): void {}

/** The bytes after a head the front took: none (they stay in the kernel until the tunnel or a socket reads them). */
const EMPTY = Buffer.alloc(0);

/**
 * On a TLS listener, a request whose host does not fit the handshake's SNI: naming a virtual host with
 * another certificate than the one SNI chose gets 421 (httpd's AH02032) rather than one host's content
 * under another host's certificate; naming no host at all (HTTP/1.0) gets 400 (AH02031).
 */
function tlsHostProblem(req: RequestView, sites: TlsSites | undefined): ErrorCode | undefined {
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
function guardRequestBody(req: IncomingMessage, res: ServerResponse, counted: () => void): void {
  const socket = req.socket;
  const onEnd = (): void => {
    // Already answered (the parser's own error path) or complete: nothing to do.
    if (req.complete || socket.writableEnded) return;
    if (!res.headersSent) {
      counted();
      sendError(res, 'WSP_BAD_REQUEST', { close: true });
    }
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
