// Loads the native tunnel engine (src/native, built to build/Release/wspass_native.node at install).
// A missing or unloadable addon is not an error here: the caller decides (engine auto → JS with a
// warning, engine native → start-up error). WSPASS_NATIVE_ADDON names another file (tests use it to
// simulate a machine where the addon could not be built).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The C side's tunnel API (src/native/addon.c and its addon_*.c). Ids are opaque numbers. */
export interface NativeTunnelApi {
  /** `fn` runs once per closed tunnel, from the loop (never inside another call of this API). */
  setCloseHandler(
    fn: (id: number, reason: number, toBackend: number, toClient: number, writes: number, errno: number, goodbye: number, framesDropped: number) => void,
  ): void;
  /**
   * Relays between the two fds: dup()s each (the caller's fd stays the caller's), except one `flags` gives
   * (OPEN_OWN_CLIENT / OPEN_OWN_BACKEND: the tunnel takes that fd itself if open() returns; if it throws,
   * the fd is still the caller's).
   */
  open(
    clientFd: number,
    backendFd: number,
    toBackend: Buffer | undefined,
    toClient: Buffer | undefined,
    clientEnded: boolean,
    backendEnded: boolean,
    idleMs: number,
    readMax: number,
    websocket: boolean,
    /** async: coalesce reads up to this many bytes per direction (0: write-through). */
    holdBytes: number,
    /** async: flush this long after the first held byte (0: at the end of the loop turn). */
    holdMs: number,
    /** Bytes the client gets before toClient, not counted as the tunnel's (the 101 of a held client). */
    greeting?: Buffer,
    /** OPEN_* of src/native/addon_tunnels.c (native-tunnel.ts). */
    flags?: number,
  ): number;
  /** With a closeCode (not 0), a WebSocket tunnel first exchanges close frames, for at most handshakeMs. */
  close(id: number, graceMs: number, closeCode?: number, handshakeMs?: number): void;
  destroy(id: number): void;
  /**
   * Fills `out` with [id, bytesToBackend, bytesToClient, sends] per open tunnel (sends: successful
   * send(2) and splice(2)-out calls, both directions); returns how many.
   */
  counters(out: Float64Array): number;
}

/** The whole addon: tunnels, and the backend legs of handshakes (src/native/backend_leg.h). */
export interface NativeAddon extends NativeTunnelApi {
  /** `fn` runs for every backend leg event (src/native/backend_leg.h), from the loop; a DATA event's bytes are the first `length` of `buf`. */
  setLegHandler(fn: (id: number, event: number, errno: number, length: number) => void, buf: Buffer): void;
  /** Starts a connect to `ip`:`port` that sends `request` once up; an id > 0, or a negative errno. */
  legOpen(ip: string, port: number, request: Buffer): number;
  /** Passes the client's FIN on once the request is out. */
  legShutdown(id: number): void;
  /** The caller owns the connection's fd from now on; -1 when not connected or the request is not out. */
  legRelease(id: number): number;
  legAbort(id: number): void;
  /** Closes an fd legRelease gave out (or a held client's). */
  closeFd(fd: number): void;
  /**
   * A raw fd this thread gave out (legRelease's, a held client's) now belongs to a net.Socket: the addon
   * no longer closes it when the worker exits (src/native/held_fds.h).
   */
  forgetFd(fd: number): void;
  /** What the peer of an fd no JS socket reads did so far (a zero-timeout poll): 0 nothing, 1 its FIN, 2 gone (reset or closed). */
  peerState(fd: number): number;
  /** Successful send(2) calls of this thread's legs so far (their requests), for the writes counters. */
  legSends(): number;
  /**
   * The native front's handlers (src/native/front.h), from the loop: `onHead` gets each connection's peeked
   * bytes once and answers n > 0 (take n bytes) or 0 (give back); `onFd` then gets the fd (0 given back,
   * 1 taken, 2 silent for headTimeoutMs).
   */
  setFrontHandlers(
    onHead: (listener: number, conn: number, head: string, peerAddress: string, peerPort: number, localAddress: string, localPort: number) => number,
    onFd: (listener: number, conn: number, fd: number, handover: number) => void,
  ): void;
  /** Accepts on a duplicate of a listening `fd`; a listener id > 0, or a negative errno. */
  frontListen(fd: number, peekBytes: number, headTimeoutMs: number): number;
  frontClose(id: number): void;
  /** Closes that listener's connections still waiting for their first bytes. */
  frontDrop(id: number): void;
}

export type NativeLoad = { readonly addon: NativeAddon; readonly error?: undefined } | { readonly addon?: undefined; readonly error: string };

let cached: NativeLoad | undefined;

/** The addon of this thread (each worker thread loads its own instance), loaded once. */
export function loadNative(): NativeLoad {
  if (cached !== undefined) return cached;
  const file = process.env.WSPASS_NATIVE_ADDON ?? fileURLToPath(new URL('../../../build/Release/wspass_native.node', import.meta.url));
  try {
    cached = { addon: createRequire(import.meta.url)(file) as NativeAddon };
  } catch (err) {
    cached = { error: `${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
  return cached;
}
