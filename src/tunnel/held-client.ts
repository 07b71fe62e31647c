// A client connection the native front took (src/server/native-front.ts): the accepted fd, its request
// head already consumed, held with no poll and no net.Socket while the backend answers. A request the front
// takes has no body, so nothing needs to read the client before its 101: bytes it sends early stay in the
// kernel, and the tunnel reads them after the 101, in order. As ReleasedLeg is for the backend side, the fd
// goes on either to the native tunnel (which takes it as it is: `handedOver`), or to a net.Socket made
// only when something else must be said to the client (an error, a non-101 answer, the JavaScript engine).
//
// The listener's server counts a held client among its connections, as net.Server counts an accepted
// socket, so close() and a drain wait for a handshake in flight; the count moves to the socket toSocket()
// makes, or goes when the tunnel takes the fd or the fd is closed.
import { Socket, type Server } from 'node:net';
import type { NativeAddon } from './native-addon.js';
import { closedSocket, RawFd } from './raw-fd.js';

interface ServerInternals {
  allowHalfOpen?: boolean;
  _connections: number;
  _emitCloseIfDrained?: () => void;
}

/** A net.Socket on an accepted fd, set up as net.Server sets up a socket it accepts, not counted yet. */
function serverSocket(server: Server, fd: number): Socket {
  const socket = new Socket({ fd, readable: true, writable: true, allowHalfOpen: (server as Server & ServerInternals).allowHalfOpen ?? false });
  socket.on('error', ignore);
  // net.Socket's destroy counts the connection out of `_server` (and lets a closing server finish).
  const s = socket as Socket & { server?: Server; _server?: Server };
  s.server = server;
  s._server = server;
  return socket;
}

/**
 * A net.Socket on an accepted fd, set up as net.Server sets up a socket it accepts (allowHalfOpen from the
 * server, counted in its connections so close() waits for it, an 'error' listener at once).
 */
export function adoptFd(server: Server, fd: number): Socket {
  (server as Server & ServerInternals)._connections++;
  return serverSocket(server, fd);
}

export class HeldClient {
  readonly #raw: RawFd;
  readonly #server: Server;
  /** Set up the socket toSocket() makes as the listener sets up its taken clients (connection record, error handling). */
  readonly #adopted: (socket: Socket) => void;
  /** The 101 (switched()): what the client gets before anything else. */
  #greeting: Buffer | undefined;
  #socket: Socket | undefined;
  /** Told when destroy() ends the connection (a held client is not watched for what its peer does). */
  #onDestroyed: (() => void) | undefined;
  #destroyed = false;

  /** Counted in `server`'s connections from now on. */
  constructor(addon: NativeAddon, server: Server, fd: number, adopted: (socket: Socket) => void) {
    this.#raw = new RawFd(addon, fd);
    this.#server = server;
    this.#adopted = adopted;
    (server as Server & ServerInternals)._connections++;
  }

  /** The fd, or -1 once it went to the tunnel or a socket, or was closed. */
  get fd(): number {
    return this.#raw.fd;
  }

  /** The 101 to send first, once the backend switched (undefined before). */
  get greeting(): Buffer | undefined {
    return this.#greeting;
  }

  /**
   * What the client did while it was held, looked at once (a zero-timeout poll, no registration): 'ended'
   * after its FIN (it may still read), 'gone' after a reset or a full close.
   */
  peer(): 'open' | 'ended' | 'gone' {
    const state = this.#raw.peerState();
    return state === 0 ? 'open' : state === 1 ? 'ended' : 'gone';
  }

  /**
   * The backend switched: `head101` is what the client gets first, from the native tunnel or, if a socket
   * must carry the tunnel instead, written by toSocket() (with the socket settings handleUpgrade gives a
   * socket client's tunnel), so nothing is lost or reordered whichever way the tunnel goes.
   */
  switched(head101: Buffer): void {
    this.#greeting = head101;
  }

  /**
   * The client as a net.Socket (the same one on every call): the rare paths (an answer other than a 101,
   * an error, the JavaScript engine). A destroyed socket once the fd went elsewhere.
   */
  toSocket(): Socket {
    if (this.#socket !== undefined) return this.#socket;
    const fd = this.#raw.forSocket();
    if (fd < 0) return (this.#socket = closedSocket());
    const socket = serverSocket(this.#server, fd);
    this.#socket = socket;
    this.#adopted(socket);
    const greeting = this.#greeting;
    if (greeting !== undefined) {
      socket.setKeepAlive(true, 30_000);
      socket.write(greeting);
    }
    return socket;
  }

  /** The native tunnel took the fd (it closes it): the server counts this connection out. */
  handedOver(): void {
    this.#raw.handedOver();
    this.#countedOut();
  }

  /** destroy() was called: the connection is closed (or its socket destroyed). */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Closes the connection (a socket made already is destroyed instead), then tells whenDestroyed's watcher. */
  destroy(): void {
    this.#destroyed = true;
    if (this.#socket !== undefined) this.#socket.destroy();
    else if (this.#raw.close()) this.#countedOut();
    const told = this.#onDestroyed;
    this.#onDestroyed = undefined;
    told?.();
  }

  /**
   * Calls `fn` once if destroy() ends this client (the server's destroy() during a handshake, so that the
   * backend it waits for goes too); one watcher at a time, the attempt in progress. Returns the unwatch.
   * Only a close made here is seen: the peer is not watched.
   */
  whenDestroyed(fn: () => void): () => void {
    this.#onDestroyed = fn;
    return () => {
      if (this.#onDestroyed === fn) this.#onDestroyed = undefined;
    };
  }

  #countedOut(): void {
    const server = this.#server as Server & ServerInternals;
    server._connections--;
    server._emitCloseIfDrained?.();
  }
}

function ignore(): void {}
