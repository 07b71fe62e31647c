// What the server holds of a running tunnel, whichever engine relays it: the JavaScript one
// (byte-tunnel.ts, Node sockets) or the native one (native-tunnel.ts, a C relay on the worker's loop).
// The server closes, destroys, counts and lists tunnels only through this interface.
import { performance } from 'node:perf_hooks';

/**
 * The clock of tunnel start times and durations: whole milliseconds since this thread started. A small
 * integer is stored in place; a Date.now() or a fractional performance.now() would be a 16 B heap box in
 * every record (a whole ms is as fine as durations and ages are shown). Past 2^31 ms of uptime (24 days)
 * new start times take that box again, nothing else changes.
 */
export function tunnelClock(): number {
  return Math.floor(performance.now());
}

export interface TunnelOptions {
  /** Close both sides after no byte in either direction for this long; 0 disables it. */
  readonly idleTimeoutMs: number;
  /** Pause a side when the other side holds more than this many bytes not yet sent. */
  readonly highWaterMarkBytes: number;
  /** Cork writes (DESIGN D4); false is write-through. */
  readonly async: boolean;
  /** With async, hold writes up to this long (or highWaterMarkBytes/4); 0 means one event-loop turn. */
  readonly asyncDelayMs: number;
  /** The tunnel carries WebSocket: frame boundaries are followed so close() can say goodbye. */
  readonly websocket?: boolean;
}

/** How close() ends a WebSocket tunnel with a closing handshake instead of a bare FIN (a drain). */
export interface WsGoodbyeOptions {
  /** The code of the close frame the client gets (1012 Service Restart or 1001 Going Away). */
  readonly closeCode: number;
  /** FIN both ways after this long even when the closing handshake has not completed. */
  readonly handshakeMs: number;
}

/**
 * How a close() with a goodbye ended: `handshake` (close frames exchanged both ways, then FIN), `timeout`
 * (the handshake bound passed first), `fin` (a bare FIN: not WebSocket, framing that is not WebSocket, or
 * a closing handshake already under way).
 */
export type TunnelGoodbye = 'handshake' | 'timeout' | 'fin';

export interface TunnelInitialBytes {
  /** Bytes the client sent after its request head (held until the 101). */
  readonly toBackend?: Buffer | undefined;
  /** Bytes the backend sent right after its 101 head. */
  readonly toClient?: Buffer | undefined;
  /** The client's FIN arrived before the 101 and was already passed to the backend. */
  readonly clientEnded?: boolean | undefined;
}

export type TunnelCloseReason =
  | 'client-closed'
  | 'backend-closed'
  | 'idle-timeout'
  | 'client-error'
  | 'backend-error'
  | 'closed'
  | 'destroyed';

export interface TunnelCloseInfo {
  /** What ended the tunnel first. */
  readonly reason: TunnelCloseReason;
  readonly bytesToBackend: number;
  readonly bytesToClient: number;
  /** Chunks written, both directions. */
  readonly writes: number;
  /** Times data was handed to a socket, both directions (equals `writes` without async). */
  readonly flushes: number;
  readonly durationMs: number;
  /** The socket error behind a '*-error' reason, or the error given to destroy(). */
  readonly error?: Error;
  /** After a close() with a goodbye: how it ended. */
  readonly goodbye?: TunnelGoodbye;
  /** Client frames that arrived after the backend was sent its close frame, dropped (close frames not counted). */
  readonly framesDropped?: number;
}

/** How long close() lets both sides flush and finish before destroying them. */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;

/**
 * Told when a tunnel ends, with the value it was started with: one handler shared by every tunnel (a
 * server's), and a per-tunnel value the server needs anyway, instead of a closure and its context per tunnel.
 */
export interface TunnelCloser<C> {
  tunnelClosed(ctx: C, info: TunnelCloseInfo): void;
}

/** A running tunnel. Its closer (given when it is created) is told exactly once, with its TunnelCloseInfo. */
export interface Tunnel {
  /** Which engine relays it. */
  readonly engine: 'js' | 'native';
  /** tunnelClock() when it started. */
  readonly startedAt: number;
  /** Bytes passed from client to backend so far (the native engine's count is at most ~0.1 s old). */
  readonly bytesToBackend: number;
  /** Bytes passed from backend to client so far. */
  readonly bytesToClient: number;
  /** Chunks written so far, both directions (the native engine counts them at close only: 0 until then). */
  readonly writes: number;
  /** Times data was handed to a socket so far, both directions (native: as `writes`). */
  readonly flushes: number;
  /**
   * Graceful: FIN both ways after what is queued; whatever is still open after `graceMs` is destroyed.
   * With `goodbye`, a WebSocket tunnel first exchanges close frames at frame boundaries (ws-goodbye.ts).
   */
  close(graceMs?: number, goodbye?: WsGoodbyeOptions): void;
  /** Forceful: both sides closed now. */
  destroy(err?: Error): void;
}
