// Keep-alive connection pools toward HTTP backends, one undici Pool per (origin, connect options), created
// on first use. The plain HTTP proxy asks for the pool of a route; tunnels do not use these.
//
// Why a Map of Pools and not an undici Agent: an Agent keys its pools by origin alone and shares one set of
// connect options, but two routes to the same origin may differ in TLS settings (CA, verification, SNI) or
// connect timeout, and each such combination needs its own connections. A Map keyed by origin + those
// options is exactly that, with no layer in between. The key is computed once per route (WeakMap cache),
// so the per-request lookup is one WeakMap get.
import { rootCertificates } from 'node:tls';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type * as Undici from 'undici';
import type { Client, Dispatcher, Pool } from 'undici';
import { WspassError } from '../errors.js';
import { connectBackend } from '../tunnel/backend-connect.js';
import type { CompiledRoute } from '../routing/types.js';

/** undici's default; kept explicit because the proxy relies on it (see keepAliveTimeout below). */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;

export class BackendPools {
  readonly #pools = new Map<string, Pool>();
  readonly #byRoute = new WeakMap<CompiledRoute, Pool>();
  /** Backend connections of `proxyProtocol: v2` routes, per client connection (see forConnection). */
  readonly #byConnection = new WeakMap<Socket, Map<string, Client>>();
  readonly #connectionClients = new Set<Client>();
  #closing: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  /** Number of pools created so far (for tests and metrics). */
  get size(): number {
    return this.#pools.size;
  }

  /** The pool for `route`'s backend; throws WSP_SHUTTING_DOWN once close() or destroy() was called. */
  get(route: CompiledRoute): Pool {
    if (this.#closing !== undefined || this.#destroying !== undefined) throw new WspassError('WSP_SHUTTING_DOWN');
    const cached = this.#byRoute.get(route);
    if (cached !== undefined) return cached;
    const key = poolKey(route);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = createPool(route);
      this.#pools.set(key, pool);
    }
    this.#byRoute.set(route, pool);
    return pool;
  }

  /**
   * The backend connection for `route` (`proxyProtocol: v2`) on behalf of the client connection `client`:
   * a PROXY header names one client and is sent once per connection, so such a connection cannot be shared
   * by a pool. It is opened on first use with `header` first, kept alive for the client connection's later
   * requests, and closed with it. A request naming another client (a trusted hop's X-Forwarded-For) gets its
   * own connection. Throws WSP_SHUTTING_DOWN once close() or destroy() was called.
   */
  forConnection(route: CompiledRoute, client: Socket, header: Buffer): Dispatcher {
    if (this.#closing !== undefined || this.#destroying !== undefined) throw new WspassError('WSP_SHUTTING_DOWN');
    let mine = this.#byConnection.get(client);
    if (mine === undefined) {
      const created = new Map<string, Client>();
      mine = created;
      this.#byConnection.set(client, created);
      client.once('close', () => {
        for (const c of created.values()) {
          this.#connectionClients.delete(c);
          void c.destroy();
        }
        created.clear();
      });
    }
    const key = `${poolKey(route)}|${header.toString('hex')}`;
    let dispatcher = mine.get(key);
    if (dispatcher === undefined || dispatcher.closed || dispatcher.destroyed) {
      dispatcher = createConnectionClient(route, header);
      mine.set(key, dispatcher);
      this.#connectionClients.add(dispatcher);
    }
    return dispatcher;
  }

  /** Graceful: refuses new requests, lets queued and running ones finish, then closes the sockets. */
  close(): Promise<void> {
    this.#closing ??= allDone(this.#all().filter((p) => !p.closed && !p.destroyed).map((p) => p.close()));
    return this.#closing;
  }

  /** Forceful: fails running requests (their handlers see UND_ERR_DESTROYED) and closes every socket now. */
  destroy(): Promise<void> {
    this.#destroying ??= allDone(this.#all().filter((p) => !p.destroyed).map((p) => p.destroy()));
    return this.#destroying;
  }

  #all(): (Pool | Client)[] {
    return [...this.#pools.values(), ...this.#connectionClients];
  }
}

async function allDone(closing: Promise<void>[]): Promise<void> {
  await Promise.all(closing);
}

function poolKey(route: CompiledRoute): string {
  const tls = route.backend.secure ? route.tls : undefined;
  return JSON.stringify([
    route.backend.httpOrigin,
    route.connectTimeoutMs,
    tls?.ca ?? null,
    tls?.rejectUnauthorized ?? true,
    tls?.servername ?? null,
  ]);
}

/**
 * undici, loaded on the first plain HTTP request rather than at start: undici 8 (the release that no longer
 * crashes when a backend closes while a slow client holds its response paused) needs Node >= 22.19, and an
 * older runtime must still be able to start and tunnel (see workers/runtime-support.ts). There the first
 * plain request fails with this load error, answered 502.
 */
let undici: typeof Undici | undefined;
function loadUndici(): typeof Undici {
  undici ??= createRequire(import.meta.url)('undici') as typeof Undici;
  return undici;
}

/** One keep-alive backend connection whose every (re)connect starts with `header` (connectBackend writes it). */
function createConnectionClient(route: CompiledRoute, header: Buffer): Client {
  return new (loadUndici().Client)(route.backend.httpOrigin, {
    pipelining: 1,
    connect: (_opts, callback) => {
      connectBackend(route.backend, { connectTimeoutMs: route.connectTimeoutMs, tls: route.tls, proxyHeader: header }).then(
        (socket) => callback(null, socket),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
      );
    },
    headersTimeout: route.handshakeTimeoutMs,
    bodyTimeout: route.idleTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  });
}

function createPool(route: CompiledRoute): Pool {
  const tls = route.backend.secure ? route.tls : undefined;
  return new (loadUndici().Pool)(route.backend.httpOrigin, {
    // One request per connection at a time: pipelining would let one slow response hold up others.
    pipelining: 1,
    // undici disables a connect timeout of 0, which is what 0 means in the config too.
    connect: {
      timeout: route.connectTimeoutMs,
      // The config's caFile is added to the system CAs, but Node's `ca` replaces them: pass both.
      ...(tls?.ca !== undefined ? { ca: [...rootCertificates, tls.ca] } : {}),
      rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      ...(tls?.servername !== undefined ? { servername: tls.servername } : {}),
    },
    // Both also set per request by the proxy; these are the pool defaults for the first route seen.
    headersTimeout: route.handshakeTimeoutMs,
    bodyTimeout: route.idleTimeoutMs,
    // Shorter than Node's server default (5 s) so we drop an idle socket before the backend does.
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  });
}
