// One direction of a tunnel: every chunk read from `src` is written to `dst` as the same Buffer (no
// copy, DESIGN D3; a WebSocket tunnel's frame headers are followed, payloads skipped), with backpressure and the write scheduling of DESIGN D4. The lane knows
// nothing about why a tunnel ends; ByteTunnel owns the lifecycle and calls end()/stop().
import type net from 'node:net';
import { flushAtEndOfTurn } from './turn-flush.js';
import type { TurnFlushable } from './turn-flush.js';
import type { FrameTracker } from './ws-frame-tracker.js';

export interface LaneOptions {
  /** Pause `src` when `dst` holds more than this many bytes not yet handed to the kernel. */
  readonly highWaterMarkBytes: number;
  /** false: write-through. true: cork `dst` and release it per turn or after asyncDelayMs. */
  readonly async: boolean;
  /** With async, hold writes up to this long (or until highWaterMarkBytes/4 are held); 0 = one turn. */
  readonly asyncDelayMs: number;
}

// Write scheduling modes, as plain numbers so the per-chunk branch compares small integers.
const WRITE_THROUGH = 0;
const PER_TURN = 1;
const DELAYED = 2;
type Mode = typeof WRITE_THROUGH | typeof PER_TURN | typeof DELAYED;

/** Timer callback shared by every lane: no closure per lane for a mode most tunnels never use. */
function flushDelayed(lane: TunnelLane): void {
  lane.flushDelayed();
}

export class TunnelLane implements TurnFlushable {
  /** Bytes read from `src` and passed to `dst` (including the initial bytes). */
  bytes = 0;
  /** Chunks passed to `dst`. */
  writes = 0;
  /** Times data was handed to the socket: one per write when write-through, one per uncork otherwise. */
  flushes = 0;
  /** `src` is paused until `dst` drains; its idle timer then says nothing about this lane's progress. */
  paused = false;
  /** `dst.end()` was called: nothing more may be written. */
  ended = false;
  /** The frames read from `src`, for a WebSocket tunnel (undefined: bytes are not looked at). */
  tracker: FrameTracker | undefined;
  /** While a drain says goodbye: takes every chunk read instead of forwarding it (ws-goodbye.ts). */
  gate: ((chunk: Buffer) => void) | undefined;

  private readonly mode: Mode;
  private readonly hwm: number;
  private readonly delayMs: number;
  private readonly flushThreshold: number;
  private corked = false;
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly src: net.Socket,
    readonly dst: net.Socket,
    options: LaneOptions,
  ) {
    this.hwm = options.highWaterMarkBytes;
    this.delayMs = options.asyncDelayMs;
    this.flushThreshold = Math.max(1, Math.floor(options.highWaterMarkBytes / 4));
    this.mode = !options.async ? WRITE_THROUGH : options.asyncDelayMs > 0 ? DELAYED : PER_TURN;
    dst.on('drain', this.onDrain);
  }

  /** Starts forwarding: `initial` (bytes read past the heads) goes first, then whatever `src` reads. */
  start(initial: Buffer | undefined): void {
    if (initial !== undefined && initial.length > 0) this.onData(initial);
    this.src.on('data', this.onData);
    // The HTTP layer may have paused the socket while waiting for the 101; a 'data' listener alone does
    // not resume an explicitly paused stream.
    if (!this.paused) this.src.resume();
  }

  /** Hot path: one call per chunk read. */
  private readonly onData = (chunk: Buffer): void => {
    // After a graceful close the peer may still send; those bytes have nowhere to go.
    if (this.ended) return;
    const tracker = this.tracker;
    if (tracker !== undefined) {
      // A WebSocket tunnel: frame boundaries are followed (headers only), and during a drain's goodbye
      // the gate decides what passes (it calls forward() itself).
      if (this.gate !== undefined) {
        this.gate(chunk);
        return;
      }
      tracker.scan(chunk, 0, chunk.length, false);
    }
    this.forward(chunk);
  };

  /** Writes `chunk` to `dst` (counted, with backpressure): what onData does with a chunk that passes. */
  forward(chunk: Buffer): void {
    if (this.ended) return;
    this.bytes += chunk.length;
    this.writes++;
    const dst = this.dst;
    if (this.mode === WRITE_THROUGH) {
      this.flushes++;
      dst.write(chunk);
    } else {
      if (!this.corked) {
        this.corked = true;
        dst.cork();
        if (this.mode === PER_TURN) flushAtEndOfTurn(this);
        else this.timer = setTimeout(flushDelayed, this.delayMs, this);
      }
      dst.write(chunk);
      if (this.mode === DELAYED) {
        this.heldBytes += chunk.length;
        if (this.heldBytes >= this.flushThreshold) this.uncork();
      }
    }
    // writableNeedDrain guards the wait: 'drain' is only emitted when a write() returned false, which
    // happens at the socket's own highWaterMark. Below that there is no 'drain' to wait for, so the
    // effective mark is max(highWaterMarkBytes, socket highWaterMark).
    if (dst.writableLength > this.hwm && dst.writableNeedDrain) {
      this.paused = true;
      this.src.pause();
    }
  }

  private readonly onDrain = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.src.resume();
  };

  /** Called by the per-turn flusher (async, asyncDelayMs 0). */
  flushTurn(): void {
    this.uncork();
  }

  /** Called when the asyncDelayMs timer fires. */
  flushDelayed(): void {
    this.timer = undefined;
    this.uncork();
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.heldBytes = 0;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushes++;
    this.dst.uncork();
  }

  /** Passes a FIN on: releases held writes, then ends `dst` after them. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.uncork();
    this.ended = true;
    if (!this.dst.destroyed) this.dst.end();
  }

  /** Drops held writes and timers; the sockets are being destroyed. Idempotent. */
  stop(): void {
    this.ended = true;
    this.corked = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
