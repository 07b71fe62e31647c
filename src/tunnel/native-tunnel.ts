// A tunnel relayed by the C core (src/native). The JS sockets are only used for the hand-off:
//
//   1. wait until both sockets have nothing queued in Node (the 101 to the client, the request and
//      anything else to the backend): libuv's queued writes would be lost when the sockets are destroyed;
//   2. then, in one synchronous tick (libuv reads only between ticks, so no byte can arrive in between):
//      take what Node's readable buffers already hold on both sockets (socket.read() until null), note
//      whether each side's FIN was already seen, give the fds (dup()ed by the core) with those bytes to
//      the core, and destroy the JS sockets. The hand-off bytes go out before anything the core reads.
//
// A client the native front held (HeldClient) and a backend leg's fd (ReleasedLeg) have no JS socket: no
// flush to wait for, nothing buffered to read; the core takes their fds as they are (no dup), and sends the
// held client its 101 (the greeting) before anything else.
//
// What stays in JS is this small record (its closer and the closer's value, the C tunnel's slot, the start
// time); counts live in the registry (native-registry.ts). If the core refuses the tunnel, or a
// socket dies while waiting, the JavaScript engine (ByteTunnel) takes the sockets as if nothing happened.
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { ByteTunnel } from './byte-tunnel.js';
import { HeldClient } from './held-client.js';
import { ReleasedLeg } from './released-leg.js';
import type { NativeClosed, NativeRecord, NativeRegistry } from './native-registry.js';
import {
  DEFAULT_CLOSE_GRACE_MS,
  tunnelClock,
  type Tunnel,
  type TunnelCloser,
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
/** open()'s flags (src/native/addon_tunnels.c). */
const OPEN_OWN_CLIENT = 1;
const OPEN_OWN_BACKEND = 2;
const OPEN_CLIENT_KEEPALIVE = 4;

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

/** What a record holds only around the hand-off, on the JS engine, or once closed; none for a running native tunnel. */
class Rare {
  /** The sockets until the hand-off (the record holds no socket for hours). */
  sockets: { client: net.Socket | HeldClient; backend: net.Socket | ReleasedLeg; options: TunnelOptions; initial: TunnelInitialBytes } | undefined;
  /** A close() or destroy() asked for before the hand-off completed. */
  pending: { graceMs: number; goodbye: WsGoodbyeOptions | undefined } | { err: Error | undefined } | undefined;
  /** The JavaScript engine, when it took over instead. */
  js: ByteTunnel | undefined;
  destroyErr: Error | undefined;
  /** What the close reported (the slot may already relay another tunnel). */
  closed: TunnelCloseInfo | undefined;
}

/** The registry and the closer, one object for every tunnel they share (one field per tunnel, not two). */
interface Owner<C> {
  readonly registry: NativeRegistry;
  readonly closer: TunnelCloser<C>;
}

const owners = new WeakMap<TunnelCloser<never>, Owner<never>>();

function ownerOf<C>(registry: NativeRegistry, closer: TunnelCloser<C>): Owner<C> {
  let owner = owners.get(closer) as Owner<C> | undefined;
  if (owner?.registry !== registry) {
    owner = { registry, closer };
    owners.set(closer, owner);
  }
  return owner;
}

/**
 * Five fields, no more: the record is what a running native tunnel keeps in JS, for hours, by the
 * thousand. (Its helper methods are TypeScript-private, not #private: a class with #methods stores a
 * brand in every instance.)
 */
export class NativeTunnel<C> implements Tunnel, NativeRecord {
  readonly #owner: Owner<C>;
  readonly #ctx: C;
  readonly startedAt = tunnelClock();
  /** The C tunnel's slot (see native-registry.ts); -1 until the hand-off and after the close. */
  #slot = -1;
  #rare: Rare | undefined = new Rare();

  /** Same contract as ByteTunnel's constructor; a socket `client` or `backend` must have plainFd(). */
  constructor(
    registry: NativeRegistry,
    client: net.Socket | HeldClient,
    backend: net.Socket | ReleasedLeg,
    options: TunnelOptions,
    initial: TunnelInitialBytes,
    closer: TunnelCloser<C>,
    ctx: C,
  ) {
    this.#owner = ownerOf(registry, closer);
    this.#ctx = ctx;
    this.#rare!.sockets = { client, backend, options, initial };
    let waiting = 2;
    const ready = () => {
      if (--waiting === 0) this.handOff();
    };
    // A held client's 101 goes with the tunnel's first bytes: nothing of it waits in Node.
    if (client instanceof HeldClient) ready();
    else {
      // Until the hand-off an error may come; the JS engine (or the hand-off) decides what it means.
      client.on('error', noop);
      whenFlushed(client, ready);
    }
    // A native leg's request is out (legRelease refuses otherwise) and nothing of it waits in Node.
    if (backend instanceof ReleasedLeg) ready();
    else {
      backend.on('error', noop);
      whenFlushed(backend, ready);
    }
  }

  /** 'js' when the JavaScript engine took over at the hand-off. */
  get engine(): 'js' | 'native' {
    return this.#rare?.js === undefined ? 'native' : 'js';
  }

  get bytesToBackend(): number {
    if (this.#slot >= 0) return this.#owner.registry.toBackend(this.#slot);
    return this.#rare?.js?.bytesToBackend ?? this.#rare?.closed?.bytesToBackend ?? 0;
  }

  get bytesToClient(): number {
    if (this.#slot >= 0) return this.#owner.registry.toClient(this.#slot);
    return this.#rare?.js?.bytesToClient ?? this.#rare?.closed?.bytesToClient ?? 0;
  }

  get writes(): number {
    return this.#rare?.js?.writes ?? this.#rare?.closed?.writes ?? 0;
  }

  get flushes(): number {
    return this.#rare?.js?.flushes ?? this.#rare?.closed?.flushes ?? 0;
  }

  close(graceMs: number = DEFAULT_CLOSE_GRACE_MS, goodbye?: WsGoodbyeOptions): void {
    const rare = this.#rare;
    if (rare?.js !== undefined) rare.js.close(graceMs, goodbye);
    else if (this.#slot >= 0) this.#owner.registry.close(this.#slot, graceMs, goodbye);
    else if (rare?.sockets !== undefined) rare.pending ??= { graceMs, goodbye };
  }

  destroy(err?: Error): void {
    if (this.#slot >= 0) {
      // The close report comes from C; the error given here is the one it carries.
      const rare = (this.#rare ??= new Rare());
      rare.destroyErr ??= err;
      this.#owner.registry.destroy(this.#slot);
      return;
    }
    const rare = this.#rare;
    if (rare === undefined) return;
    rare.destroyErr ??= err;
    if (rare.js !== undefined) rare.js.destroy(err);
    else if (rare.sockets !== undefined) {
      // Still waiting for the flush: the JS engine, started on destroyed sockets, reports the close.
      rare.pending = { err };
      rare.sockets.client.destroy();
      rare.sockets.backend.destroy();
    }
  }

  /** NativeRecord: the C tunnel is gone (both fds closed). */
  closed(report: NativeClosed): void {
    const reason = REASONS[report.reason] ?? 'closed';
    const goodbye = GOODBYES[report.goodbye];
    const error =
      this.#rare?.destroyErr ??
      (report.errno !== 0 ? Object.assign(new Error(getSystemErrorName(-report.errno)), { errno: -report.errno, code: getSystemErrorName(-report.errno) }) : undefined);
    this.finish({
      reason,
      bytesToBackend: report.toBackend,
      bytesToClient: report.toClient,
      writes: report.writes,
      flushes: report.writes,
      durationMs: tunnelClock() - this.startedAt,
      ...(error !== undefined ? { error } : {}),
      ...(goodbye !== undefined ? { goodbye, framesDropped: report.framesDropped } : {}),
    });
  }

  private handOff(): void {
    const rare = this.#rare;
    const s = rare?.sockets;
    if (rare === undefined || s === undefined) return;
    rare.sockets = undefined;
    const { client, backend, options, initial } = s;
    const held = client instanceof HeldClient;
    const clientFd = held ? (client.fd >= 0 ? client.fd : undefined) : client.destroyed ? undefined : plainFd(client);
    const leg = backend instanceof ReleasedLeg;
    const backendFd = leg ? (backend.fd >= 0 ? backend.fd : undefined) : backend.destroyed ? undefined : plainFd(backend);
    if (clientFd === undefined || backendFd === undefined || rare.pending !== undefined && 'err' in rare.pending) {
      this.runJs(rare, client, backend, options, initial);
      return;
    }
    // From here to the destroy() calls: one synchronous stretch, no await, no callback.
    // A held client was never read: what it sent after its head is still in the kernel.
    const toBackend = held ? initial.toBackend : readAll(client, initial.toBackend);
    // A leg was released inside the event that brought its 101: everything after it is still in the kernel.
    const toClient = leg ? initial.toClient : readAll(backend, initial.toClient);
    const clientEnded = initial.clientEnded === true || (!held && readEnded(client));
    const backendEnded = !leg && readEnded(backend);
    const readMax = Math.min(CORE_BUFFER_BYTES, Math.max(1, options.highWaterMarkBytes));
    let slot: number;
    try {
      slot = this.#owner.registry.open(this, [
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
        held ? client.greeting : undefined,
        (held ? OPEN_OWN_CLIENT | OPEN_CLIENT_KEEPALIVE : 0) | (leg ? OPEN_OWN_BACKEND : 0),
      ]);
    } catch {
      // The core could not take it (out of fds, say): the bytes read above go to the JS engine instead,
      // in the same order, and a FIN seen is still in each socket's state ('end' follows).
      this.runJs(rare, client, backend, options, { toBackend, toClient, clientEnded: initial.clientEnded });
      return;
    }
    this.#slot = slot;
    if (held) client.handedOver();
    else client.destroy();
    if (leg) backend.handedOver();
    else backend.destroy();
    const pending = rare.pending;
    // A running native tunnel keeps nothing else in JS.
    this.#rare = undefined;
    if (pending !== undefined && 'graceMs' in pending) this.close(pending.graceMs, pending.goodbye);
  }

  private runJs(rare: Rare, clientEnd: net.Socket | HeldClient, backendEnd: net.Socket | ReleasedLeg, options: TunnelOptions, initial: TunnelInitialBytes): void {
    // A held client's socket writes its 101 first: the tunnel's bytes follow it.
    const client = clientEnd instanceof HeldClient ? clientEnd.toSocket() : clientEnd;
    client.removeListener('error', noop);
    const backend = backendEnd instanceof ReleasedLeg ? backendEnd.toSocket() : backendEnd;
    backend.removeListener('error', noop);
    const pending = rare.pending;
    rare.pending = undefined;
    const js = new ByteTunnel(client, backend, options, initial, (info) => this.finish(info));
    rare.js = js;
    if (pending !== undefined) {
      if ('err' in pending) js.destroy(pending.err);
      else js.close(pending.graceMs, pending.goodbye);
    }
  }

  private finish(info: TunnelCloseInfo): void {
    // Each engine reports once, and only one of them runs the tunnel.
    this.#slot = -1;
    const rare = (this.#rare ??= new Rare());
    rare.closed = info;
    this.#owner.closer.tunnelClosed(this.#ctx, info);
  }
}

function noop(): void {}
