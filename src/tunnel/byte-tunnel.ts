// The tunnel after the 101: raw bytes both ways between the client socket and the backend socket
// (DESIGN D1, D3), half-close passed on, an error on one side tearing down the other, an idle timeout,
// and graceful/forceful shutdown. It reports once, when both sockets are gone.
//
//   client ──data──▶ lane toBackend ──write──▶ backend
//   client ◀──write── lane toClient ◀──data── backend
//   FIN from one side → end() on the other; error/RST or a socket closed early → destroy the other.
//
// Idle timeout: socket.setTimeout on both sockets. Node refreshes a socket's timer on every read and on
// every write it dispatches or completes, and each chunk is a read on one socket and a write on the
// other, so traffic in either direction keeps both timers fresh with no per-chunk work of ours (no
// clock read, no timer of our own). A source paused for backpressure is the one exception (see 'timeout').
import type net from 'node:net';
import { TunnelLane } from './tunnel-lane.js';
import type { TunnelGoodbye, WsGoodbyeOptions } from './tunnel.js';
import { DEFAULT_CLOSE_GRACE_MS, tunnelClock, type Tunnel, type TunnelCloseInfo, type TunnelCloseReason, type TunnelInitialBytes, type TunnelOptions } from './tunnel.js';
import { FrameTracker } from './ws-frame-tracker.js';
import { canSayGoodbye, WsGoodbye } from './ws-goodbye.js';

export type { TunnelCloseInfo, TunnelCloseReason, TunnelInitialBytes, TunnelOptions } from './tunnel.js';
export { DEFAULT_CLOSE_GRACE_MS } from './tunnel.js';

/** TCP keep-alive probe delay for the client socket (DESIGN D4: keep-alive on for both sockets). */
const KEEP_ALIVE_DELAY_MS = 30_000;

type Side = 'client' | 'backend';

export class ByteTunnel implements Tunnel {
  readonly engine = 'js';
  private readonly toBackend: TunnelLane;
  private readonly toClient: TunnelLane;
  /** tunnelClock() when it started. */
  readonly startedAt = tunnelClock();
  private reason: TunnelCloseReason | undefined;
  private error: Error | undefined;
  private open = 2; // sockets not yet closed
  private graceTimer: NodeJS.Timeout | undefined;
  private finished = false;
  /** A drain's closing handshake in progress (WebSocket tunnels only). */
  private goodbye: WsGoodbye | undefined;
  private goodbyeOutcome: TunnelGoodbye | undefined;

  /**
   * Takes over both sockets. `backend` must come straight from backendHandshake() (no 'error' listener
   * yet); `client` must be allowHalfOpen so a FIN from the client can be passed on while the backend
   * keeps talking. `onClose` runs exactly once, after both sockets have emitted 'close'.
   */
  constructor(
    readonly client: net.Socket,
    readonly backend: net.Socket,
    options: TunnelOptions,
    initial: TunnelInitialBytes,
    private readonly onClose: (info: TunnelCloseInfo) => void,
  ) {
    this.toBackend = new TunnelLane(client, backend, options);
    this.toClient = new TunnelLane(backend, client, options);
    if (options.websocket === true) {
      // Client frames are masked, server frames are not (RFC 6455 §5.1).
      this.toBackend.tracker = new FrameTracker(true);
      this.toClient.tracker = new FrameTracker(false);
    }
    this.watch(client, 'client', initial.clientEnded === true);
    this.watch(backend, 'backend', false);
    if (this.open < 2) {
      // A side died before the tunnel existed (its 'close' may already be gone): no tunnel, just cleanup.
      this.destroyBoth();
      if (this.open === 0) queueMicrotask(() => this.finish());
      return;
    }
    client.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    client.setNoDelay(true);
    // Also clears a timeout the HTTP server may have left on the client socket when idleTimeoutMs is 0.
    client.setTimeout(options.idleTimeoutMs);
    backend.setTimeout(options.idleTimeoutMs);
    // Initial bytes are written before any listener can deliver newer data, so order is kept.
    this.toBackend.start(initial.toBackend);
    this.toClient.start(initial.toClient);
    if (initial.clientEnded === true) {
      this.record('client-closed', undefined);
      this.toBackend.end();
    }
  }

  /** Bytes passed from client to backend so far. */
  get bytesToBackend(): number {
    return this.toBackend.bytes;
  }

  /** Bytes passed from backend to client so far. */
  get bytesToClient(): number {
    return this.toClient.bytes;
  }

  /** Chunks written so far, both directions. */
  get writes(): number {
    return this.toBackend.writes + this.toClient.writes;
  }

  /** Times data was handed to a socket so far, both directions (see TunnelCloseInfo.flushes). */
  get flushes(): number {
    return this.toBackend.flushes + this.toClient.flushes;
  }

  /**
   * Graceful: sends FIN both ways after what is already queued, then destroys whatever is still open
   * after `graceMs`. Idempotent; the first reason recorded wins.
   */
  close(graceMs: number = DEFAULT_CLOSE_GRACE_MS, goodbye?: WsGoodbyeOptions): void {
    if (this.goodbye !== undefined && this.goodbyeOutcome === undefined) {
      // Closed again while saying goodbye: the FIN now, as the native engine does.
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      this.goodbyeOutcome = 'fin';
    }
    if (goodbye === undefined || this.goodbye !== undefined || this.finished || this.graceTimer !== undefined) {
      this.shutDown('closed', graceMs);
      return;
    }
    this.record('closed', undefined);
    if (!canSayGoodbye(this.toBackend, this.toClient) || this.toBackend.ended || this.toClient.ended) {
      this.goodbyeOutcome = 'fin';
      this.shutDown('closed', graceMs);
      return;
    }
    // The bound: a handshake that has not completed by then ends as a plain close does.
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      this.goodbyeOutcome ??= 'timeout';
      this.shutDown('closed', graceMs);
    }, goodbye.handshakeMs);
    this.goodbye = new WsGoodbye(this.toBackend, this.toClient, goodbye.closeCode, () => {
      if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      this.goodbyeOutcome ??= this.goodbye?.completed === false ? 'fin' : 'handshake';
      this.shutDown('closed', graceMs);
    });
  }

  /** Forceful: destroys both sockets now. Idempotent. */
  destroy(err?: Error): void {
    this.record('destroyed', err);
    this.destroyBoth();
  }

  private shutDown(reason: TunnelCloseReason, graceMs: number): void {
    this.record(reason, undefined);
    if (this.finished || this.graceTimer !== undefined) return;
    this.toBackend.end();
    this.toClient.end();
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      this.destroyBoth();
    }, graceMs);
  }

  private watch(socket: net.Socket, side: Side, alreadyEnded: boolean): void {
    const lane = side === 'client' ? this.toBackend : this.toClient; // the lane this socket feeds
    const other = side === 'client' ? this.backend : this.client;
    if (socket.destroyed) {
      socket.on('error', ignore); // an error may still be queued for emission
      this.record(side === 'client' ? 'client-closed' : 'backend-closed', undefined);
      this.open--;
      return;
    }
    let readEnded = alreadyEnded;

    socket.on('end', () => {
      readEnded = true;
      this.record(side === 'client' ? 'client-closed' : 'backend-closed', undefined);
      const goodbye = this.goodbye;
      if (goodbye !== undefined && this.goodbyeOutcome === undefined) {
        // During the goodbye the backend's FIN waits until the client had its close frame and answered.
        if (side === 'client') {
          goodbye.clientEnded(); // may still send the backend its close frame, before the FIN
          lane.end();
        } else goodbye.backendEnded();
        return;
      }
      lane.end();
    });
    socket.on('error', (err: Error) => {
      this.record(side === 'client' ? 'client-error' : 'backend-error', err);
      // The socket is already being destroyed; its 'close' below tears down the other one.
    });
    socket.on('timeout', () => {
      // A paused source reads nothing while its destination drains slowly; the destination's own timer
      // (refreshed by every completed write) decides whether that is idleness.
      if (lane.paused) return;
      this.shutDown('idle-timeout', DEFAULT_CLOSE_GRACE_MS);
    });
    socket.on('close', () => {
      // A socket closed after both halves ended cleanly leaves the other to finish flushing its last
      // bytes; any other close (error, reset, destroyed from outside) takes the other side down now.
      const clean = readEnded && socket.writableFinished;
      if (!clean) {
        this.record(side === 'client' ? 'client-closed' : 'backend-closed', undefined);
        this.toBackend.stop();
        this.toClient.stop();
        other.destroy();
      }
      if (--this.open === 0) this.finish();
    });
  }

  private record(reason: TunnelCloseReason, err: Error | undefined): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.error = err;
  }

  private destroyBoth(): void {
    this.toBackend.stop();
    this.toClient.stop();
    this.client.destroy();
    this.backend.destroy();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.graceTimer !== undefined) {
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
    }
    const info: TunnelCloseInfo = {
      reason: this.reason ?? 'closed',
      bytesToBackend: this.toBackend.bytes,
      bytesToClient: this.toClient.bytes,
      writes: this.writes,
      flushes: this.flushes,
      durationMs: tunnelClock() - this.startedAt,
      ...(this.error !== undefined ? { error: this.error } : {}),
      ...(this.goodbyeOutcome !== undefined ? { goodbye: this.goodbyeOutcome, framesDropped: this.goodbye?.framesDropped ?? 0 } : {}),
    };
    this.onClose(info);
  }
}

function ignore(): void {}
