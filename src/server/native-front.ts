// The native front (config `tunnel.front`; on by default on the native engine): a plain listener's connections are accepted in C
// (src/native/front.c) and their first bytes peeked there; this module reads the peeked head once with the
// strict reader and decides:
//
//   accept4 + peek (C) ─▶ readStrictHead ─┬─ a head the routes tunnel: C drops exactly the head's bytes,
//                                         │  then the fd, held (HeldClient: no poll, no net.Socket), goes
//                                         │  to handleUpgrade (the hooks); a 101 on the native engine
//                                         │  starts the C tunnel on it, anything else makes a socket
//                                         └─ anything else (plain requests, refused or incomplete heads):
//                                            the fd, bytes untouched, to the server's 'connection' event
//
// so node:http answers everything the front does not take exactly as it does without the front. The fd is
// handed over only from C's poll close callback (the poll must leave epoll before Node registers the fd).
//
// Node's server keeps its role for bookkeeping: it listens (addresses, port 0, reusePort as today), then its
// handle is closed and replaced by a stand-in that answers address() and close() (stopping the C accept),
// so drain, shutdown and the listener's 'close' work unchanged; the sockets made here and the held clients
// are counted as the server's connections as net.Server counts those it accepts.
import type { AddressInfo, Server, Socket } from 'node:net';
import { headersOf } from '../http/headers.js';
import type { RequestLimits } from '../http/request-limits.js';
import type { ConnectionView, RequestView } from '../http/request-view.js';
import { INCOMPLETE, readStrictHead } from '../http/strict-head.js';
import { PendingHeads } from './pending-heads.js';
import { adoptFd, HeldClient } from '../tunnel/held-client.js';
import type { NativeAddon } from '../tunnel/native-addon.js';

/** enum front_handover in src/native/front.h. */
const GIVEN_BACK = 0;
const TAKEN = 1;
const TIMED_OUT = 2;

/** What a listener does with its connections (proxy-server.ts wires these to its own paths). */
export interface FrontHooks<D> {
  /** The request limits of the running config (read per connection, so a reload applies). */
  limits(): RequestLimits;
  /** The decision if the front takes this request (an upgrade the routes tunnel), else undefined. */
  decide(req: RequestView): D | undefined;
  /** A taken request: its head is consumed, `client` holds the connection (counted by the server). */
  taken(client: HeldClient, req: RequestView, decision: D): void;
  /** The socket a taken client becomes when its handshake needs one (it has an 'error' listener already). */
  adopted(socket: Socket): void;
  /** A connection that sent nothing for headTimeoutMs: answered as node:http's head timeout is. */
  timedOut(socket: Socket): void;
  /** Told of each handshake taken and each connection given back (the worker's shared counters). */
  counted?(event: keyof FrontCounts): void;
}

/** Per listener counts, for /status. */
export interface FrontCounts {
  taken: number;
  givenBack: number;
}

/** A listener the front runs on. */
export interface RunningFront {
  readonly counts: Readonly<FrontCounts>;
  /** Closes the connections still waiting for their first bytes (the server is destroyed, not drained). */
  drop(): void;
}

interface Pending<D> {
  readonly req: RequestView;
  readonly decision: D;
}

interface FrontListener<D> {
  readonly addon: NativeAddon;
  readonly server: Server;
  /** hooks.adopted, bound once (every held client of the listener gets this one function). */
  readonly adopted: (socket: Socket) => void;
  readonly hooks: FrontHooks<D>;
  readonly counts: FrontCounts;
  /** Taken heads waiting for their fd (between the verdict and the poll's close callback). */
  readonly pending: PendingHeads<Pending<D>>;
}

/** The C handlers of this thread are set once; listeners are found by their C id. */
const listeners = new Map<number, FrontListener<unknown>>();
/** The addon whose front handlers are set on this thread (once). */
let handlersOf: NativeAddon | undefined;

function onHead(listenerId: number, conn: number, head: string, peerAddress: string, peerPort: number, localAddress: string, localPort: number): number {
  try {
    return verdict(listenerId, conn, head, { remoteAddress: peerAddress, remotePort: peerPort, localAddress, localPort });
  } catch {
    // Giving back is always safe: node:http reads the connection as it would without the front.
    return 0;
  }
}

/** The bytes to take (the head's), or 0: give the connection back. */
function verdict(listenerId: number, conn: number, head: string, endpoints: ConnectionView): number {
  const l = listeners.get(listenerId);
  if (l === undefined) return 0;
  const strict = readStrictHead(head, l.hooks.limits());
  if (strict === undefined || strict === INCOMPLETE) return 0;
  const req: RequestView = {
    method: strict.method,
    url: strict.target,
    httpVersion: strict.httpVersion,
    rawHeaders: strict.rawHeaders,
    headers: headersOf(strict.rawHeaders),
    socket: endpoints,
  };
  const decision = l.hooks.decide(req);
  if (decision === undefined) return 0;
  l.pending.set(conn, { req, decision });
  return strict.headBytes;
}

function onFd(listenerId: number, conn: number, fd: number, handover: number): void {
  const l = listeners.get(listenerId) ?? closedListeners.get(listenerId);
  const pending = l?.pending.take(conn);
  if (l === undefined) {
    // Not ours any more (cannot happen while the server lives): the fd must not leak.
    handlersOf?.closeFd(fd);
    return;
  }
  if (handover === TAKEN && pending !== undefined) {
    l.counts.taken++;
    l.hooks.counted?.('taken');
    l.hooks.taken(new HeldClient(l.addon, l.server, fd, l.adopted), pending.req, pending.decision);
    return;
  }
  // A taken fd is marked for closing at worker exit until something owns it (src/native/held_fds.h).
  if (handover === TAKEN) l.addon.forgetFd(fd);
  const socket = adoptFd(l.server, fd);
  if (handover === TIMED_OUT) {
    l.hooks.timedOut(socket);
  } else {
    if (handover === GIVEN_BACK) {
      l.counts.givenBack++;
      l.hooks.counted?.('givenBack');
    }
    // The server's own accept path: PROXY-less listener pipeline, node:http's connection handling.
    l.server.emit('connection', socket);
  }
}

/**
 * Listeners whose accept stopped: their last connections may still be handed over. Kept for the thread's
 * life (a listener is closed once, at drain or destroy; a reload keeps its listeners).
 */
const closedListeners = new Map<number, FrontListener<unknown>>();

/** Why the front could not start on a listener (it then keeps Node's accept), or undefined. */
export function startFront<D>(addon: NativeAddon, server: Server, hooks: FrontHooks<D>, peekBytes: number, headTimeoutMs: number): RunningFront | string {
  const internal = server as Server & { _handle: { fd?: number; close(): void } | object | null };
  const handle = internal._handle as { fd?: number; close(): void } | null;
  const fd = handle?.fd;
  if (handle === null || typeof fd !== 'number' || fd < 0) return 'the listener has no file descriptor';
  const address = server.address();
  if (address === null || typeof address === 'string') return 'the listener is not a TCP socket';
  if (handlersOf === undefined) {
    addon.setFrontHandlers(onHead, onFd);
    handlersOf = addon;
  }
  const id = addon.frontListen(fd, peekBytes, headTimeoutMs);
  if (id < 0) return `frontListen failed (errno ${-id})`;
  const l: FrontListener<D> = { addon, server, hooks, adopted: (socket) => hooks.adopted(socket), counts: { taken: 0, givenBack: 0 }, pending: new PendingHeads() };
  listeners.set(id, l);
  // C accepts on its duplicate from now on; Node's handle (and its fd) goes.
  handle.close();
  internal._handle = standIn(address, () => {
    addon.frontClose(id);
    listeners.delete(id);
    closedListeners.set(id, l);
  });
  return { counts: l.counts, drop: () => addon.frontDrop(id) };
}

/**
 * What net.Server asks of its handle once listening: its address, close (here: stop the C accept), ref and
 * unref (the C poll keeps the loop alive while it accepts, as Node's handle did).
 */
function standIn(address: AddressInfo, onClose: () => void): object {
  let closed = false;
  return {
    getsockname(out: Record<string, unknown>): number {
      Object.assign(out, address);
      return 0;
    },
    close(): void {
      if (closed) return;
      closed = true;
      onClose();
    },
    ref(): void {},
    unref(): void {},
  };
}
