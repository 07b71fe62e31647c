// A tunnel relayed by the C core (src/native). The JS sockets are only used for the hand-off:
//
//   1. wait until both sockets have nothing queued in Node (the 101 to the client, the request and
//      anything else to the backend): libuv's queued writes would be lost when the sockets are destroyed;
//   2. then, in one synchronous tick (libuv reads only between ticks, so no byte can arrive in between):
//      take what Node's readable buffers already hold on both sockets (socket.read() until null), note
//      whether each side's FIN was already seen, give the fds (dup()ed by the core) with those bytes to
//      the core, and destroy the JS sockets. The hand-off bytes go out before anything the core reads.
//
// What stays in JS is this small record (counts, close report). If the core refuses the tunnel, or a
// socket dies while waiting, the JavaScript engine (ByteTunnel) takes the sockets as if nothing happened.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { getSystemErrorName } from 'node:util';
import { ByteTunnel } from './byte-tunnel.js';
import type { NativeClosed, NativeRecord, NativeRegistry } from './native-registry.js';
import {
  DEFAULT_CLOSE_GRACE_MS,
  type Tunnel,
  type TunnelCloseInfo,
  type TunnelCloseReason,
  type TunnelGoodbye,
  type TunnelInitialBytes,
  type TunnelOptions,
  type WsGoodbyeOptions,
} from './tunnel.js';

/** The C core's reason numbers (enum relay_reason in src/native/relay.h). */
const REASONS: readonly TunnelCloseReason[] = [
  'closed',
  'client-closed',
  'backend-closed',
  'idle-timeout',
  'client-error',
  'backend-error',
  'closed',
  'destroyed',
];

/** The read size of the core: min(its 64 KiB buffer, highWaterMarkBytes), as the JS lanes pause. */
const CORE_BUFFER_BYTES = 64 * 1024;
/** The C core's goodbye outcomes (enum relay_goodbye in src/native/relay.h); 0 and 4: none reported. */
const GOODBYES: readonly (TunnelGoodbye | undefined)[] = [undefined, 'handshake', 'timeout', 'fin', 'fin'];
const EMPTY = Buffer.alloc(0);

interface SocketInternals {
  _handle?: { fd?: number } | null;
  _readableState?: { ended?: boolean };
}

/** The fd of a plain TCP socket (undefined for TLS, pipes or sockets without a handle). */
export function plainFd(socket: net.Socket): number | undefined {
  if ('encrypted' in socket) return undefined;
  const fd = (socket as unknown as SocketInternals)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Nothing of this socket waits in Node: every write (and an end()'s shutdown) reached the kernel. */
function flushed(s: net.Socket): boolean {
  return s.writableLength === 0 && (!s.writableEnded || s.writableFinished);
}

/** Waits for what Node still holds for `s` to reach the kernel; `done` runs once (also on failure). */
function whenFlushed(s: net.Socket, done: () => void): void {
  if (flushed(s)) {
    done();
    return;
  }
  // An empty write completes after every write queued before it; an ended socket says so by 'finish'.
  if (!s.writableEnded) {
    s.write(EMPTY, () => done()); // also called (with an error) when the socket is destroyed first
    return;
  }
  let once = false;
  const finished = () => {
    if (once) return;
    once = true;
    s.removeListener('finish', finished);
    s.removeListener('close', finished);
    done();
  };
  s.on('finish', finished);
  s.on('close', finished);
}

/**
 * How many bytes per direction asyncDelayMs holds before they go out without waiting for the delay: a
 * quarter of highWaterMarkBytes as the JS lanes do, at most one read (the C side keeps no more per lane).
 * 0: write-through, also for `async` without a delay: the core reads each side at most once per loop
 * turn, so it already sends at most once per socket per turn (src/native/coalesce.h).
 */
function holdBytes(options: TunnelOptions, readMax: number): number {
  if (!options.async || options.asyncDelayMs <= 0) return 0;
  return Math.min(readMax, Math.max(1, Math.floor(options.highWaterMarkBytes / 4)));
}

function readAll(s: net.Socket, first: Buffer | undefined): Buffer | undefined {
  const chunks: Buffer[] = first !== undefined && first.length > 0 ? [first] : [];
  for (let c = s.read() as Buffer | null; c !== null; c = s.read() as Buffer | null) chunks.push(c);
  return chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** FIN seen by Node (maybe not yet emitted as 'end'): Readable has no public flag for it. */
function readEnded(s: net.Socket): boolean {
  return s.readableEnded || (s as unknown as SocketInternals)._readableState?.ended === true;
}

export class NativeTunnel implements Tunnel, NativeRecord {
  readonly #registry: NativeRegistry;
  readonly #onClose: (info: TunnelCloseInfo) => void;
  readonly #startedAt = performance.now();
  /** The sockets until the hand-off; undefined after it (the record holds no socket for hours). */
  #sockets: { client: net.Socket; backend: net.Socket; options: TunnelOptions; initial: TunnelInitialBytes } | undefined;
  #id: number | undefined;
  /** The JavaScript engine, when it took over instead. */
  #js: ByteTunnel | undefined;
  #toBackend = 0;
  #toClient = 0;
  #writes = 0;
  /** A close() or destroy() asked for before the hand-off completed. */
  #pending: { graceMs: number; goodbye: WsGoodbyeOptions | undefined } | { err: Error | undefined } | undefined;
  #destroyErr: Error | undefined;
  #finished = false;

  /** Same contract as ByteTunnel's constructor; `client` and `backend` must have plainFd(). */
  constructor(
    registry: NativeRegistry,
    client: net.Socket,
    backend: net.Socket,
    options: TunnelOptions,
    initial: TunnelInitialBytes,
    onClose: (info: TunnelCloseInfo) => void,
  ) {
    this.#registry = registry;
    this.#onClose = onClose;
    this.#sockets = { client, backend, options, initial };
    // Until the hand-off an error may come; the JS engine (or the hand-off) decides what it means.
    client.on('error', noop);
    backend.on('error', noop);
    let waiting = 2;
    const ready = () => {
      if (--waiting === 0) this.#handOff();
    };
    whenFlushed(client, ready);
    whenFlushed(backend, ready);
  }

  /** 'js' when the JavaScript engine took over at the hand-off. */
  get engine(): 'js' | 'native' {
    return this.#js === undefined ? 'native' : 'js';
  }

  get bytesToBackend(): number {
    this.#registry.refreshCounts();
    return this.#js?.bytesToBackend ?? this.#toBackend;
  }

  get bytesToClient(): number {
    this.#registry.refreshCounts();
    return this.#js?.bytesToClient ?? this.#toClient;
  }

  get writes(): number {
    return this.#js?.writes ?? this.#writes;
  }

  get flushes(): number {
    return this.#js?.flushes ?? this.#writes;
  }

  close(graceMs: number = DEFAULT_CLOSE_GRACE_MS, goodbye?: WsGoodbyeOptions): void {
    if (this.#js !== undefined) this.#js.close(graceMs, goodbye);
    else if (this.#id !== undefined) this.#registry.close(this.#id, graceMs, goodbye);
    else this.#pending ??= { graceMs, goodbye };
  }

  destroy(err?: Error): void {
    this.#destroyErr ??= err;
    if (this.#js !== undefined) this.#js.destroy(err);
    else if (this.#id !== undefined) this.#registry.destroy(this.#id);
    else if (this.#sockets !== undefined) {
      // Still waiting for the flush: the JS engine, started on destroyed sockets, reports the close.
      this.#pending = { err };
      this.#sockets.client.destroy();
      this.#sockets.backend.destroy();
    }
  }

  /** NativeRecord: the bulk count pull. */
  counts(toBackend: number, toClient: number): void {
    this.#toBackend = toBackend;
    this.#toClient = toClient;
  }

  /** NativeRecord: the C tunnel is gone (both fds closed). */
  closed(report: NativeClosed): void {
    this.#toBackend = report.toBackend;
    this.#toClient = report.toClient;
    this.#writes = report.writes;
    const reason = REASONS[report.reason] ?? 'closed';
    const goodbye = GOODBYES[report.goodbye];
    const error =
      this.#destroyErr ?? (report.errno !== 0 ? Object.assign(new Error(getSystemErrorName(-report.errno)), { errno: -report.errno, code: getSystemErrorName(-report.errno) }) : undefined);
    this.#finish({
      reason,
      bytesToBackend: report.toBackend,
      bytesToClient: report.toClient,
      writes: report.writes,
      flushes: report.writes,
      durationMs: performance.now() - this.#startedAt,
      ...(error !== undefined ? { error } : {}),
      ...(goodbye !== undefined ? { goodbye, framesDropped: report.framesDropped } : {}),
    });
  }

  #handOff(): void {
    const s = this.#sockets;
    if (s === undefined) return;
    this.#sockets = undefined;
    const { client, backend, options, initial } = s;
    const clientFd = client.destroyed ? undefined : plainFd(client);
    const backendFd = backend.destroyed ? undefined : plainFd(backend);
    if (clientFd === undefined || backendFd === undefined || this.#pending !== undefined && 'err' in this.#pending) {
      this.#runJs(client, backend, options, initial);
      return;
    }
    // From here to the destroy() calls: one synchronous stretch, no await, no callback.
    const toBackend = readAll(client, initial.toBackend);
    const toClient = readAll(backend, initial.toClient);
    const clientEnded = initial.clientEnded === true || readEnded(client);
    const backendEnded = readEnded(backend);
    const readMax = Math.min(CORE_BUFFER_BYTES, Math.max(1, options.highWaterMarkBytes));
    try {
      this.#id = this.#registry.open(this, [
        clientFd,
        backendFd,
        toBackend,
        toClient,
        clientEnded,
        backendEnded,
        options.idleTimeoutMs,
        readMax,
        options.websocket === true,
        holdBytes(options, readMax),
        options.async ? options.asyncDelayMs : 0,
      ]);
    } catch {
      // The core could not take it (out of fds, say): the bytes read above go to the JS engine instead,
      // in the same order, and a FIN seen is still in each socket's state ('end' follows).
      this.#runJs(client, backend, options, { toBackend, toClient, clientEnded: initial.clientEnded });
      return;
    }
    client.destroy();
    backend.destroy();
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined && 'graceMs' in pending) this.close(pending.graceMs, pending.goodbye);
  }

  #runJs(client: net.Socket, backend: net.Socket, options: TunnelOptions, initial: TunnelInitialBytes): void {
    client.removeListener('error', noop);
    backend.removeListener('error', noop);
    const pending = this.#pending;
    this.#pending = undefined;
    this.#js = new ByteTunnel(client, backend, options, initial, (info) => this.#finish(info));
    if (pending !== undefined) {
      if ('err' in pending) this.#js.destroy(pending.err);
      else this.#js.close(pending.graceMs, pending.goodbye);
    }
  }

  #finish(info: TunnelCloseInfo): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#onClose(info);
  }
}

function noop(): void {}
